using FineTune.Evaluation;

namespace FineTune.Reports;

public static partial class HtmlReport
{
    /// <summary>
    /// One row per class, worst F1 first (where a person should look), sortable by any column through the page's
    /// script; each numeric cell carries its exact value in data-v so sorting never parses formatted text.
    /// </summary>
    static void WriteClassTable(TextWriter w, TestReport report)
    {
        var m = report.Metrics;
        w.WriteLine("<section id=\"classes\"><h2>Per class</h2>");
        w.WriteLine($"<p class=\"hint\">Worst F1 first; click a column to sort. Macro F1 {Html.Fixed(m.Macro.F1, 3)}, weighted F1 {Html.Fixed(m.Weighted.F1, 3)}.</p>");
        foreach (var warning in m.Warnings) w.WriteLine($"<p class=\"warn\">{Html.Escape(warning)}</p>");
        // In a box of its own height at many classes, header kept in view, so the sections below stay a scroll away.
        w.WriteLine("<div class=\"table-wrap\"><table id=\"class-table\" class=\"sortable\"><thead><tr>" +
                    "<th data-type=\"text\">Class</th><th data-type=\"num\">Precision</th><th data-type=\"num\">Recall</th>" +
                    "<th data-type=\"num\" aria-sort=\"ascending\">F1</th><th data-type=\"num\">Support</th><th data-type=\"text\">Most often taken for</th>" +
                    "</tr></thead><tbody>");
        var rows = m.Classes.Select((c, index) => (c, index)).OrderBy(r => r.c.F1).ThenBy(r => r.c.Name, StringComparer.Ordinal);
        foreach (var (c, index) in rows)
        {
            var name = Html.Escape(c.Name);
            w.Write($"<tr class=\"cls\"><td class=\"name\" title=\"{name}\">{name}</td>");
            w.Write(ScoreCell(c.Precision));
            w.Write(ScoreCell(c.Recall));
            w.Write(ScoreCell(c.F1, bar: true));
            w.Write($"<td class=\"num\" data-v=\"{c.Support}\">{Html.Count(c.Support)}</td>");
            w.WriteLine($"{MostConfusedCell(report.Confusion, index)}</tr>");
        }
        w.WriteLine("</tbody></table></div></section>");
    }

    static string ScoreCell(double value, bool bar = false) =>
        $"<td class=\"num{(bar ? " bar" : "")}\" data-v=\"{Html.Data(value)}\"{(bar ? $" style=\"--v:{Html.Fixed(value, 3)}\"" : "")}>{Html.Fixed(value, 3)}</td>";

    /// <summary>The class this one's images were most often predicted as, other than itself, with the count.</summary>
    static string MostConfusedCell(ConfusionMatrix matrix, int trueClass)
    {
        int best = -1, bestCount = 0;
        for (var p = 0; p < matrix.ClassCount; p++)
            if (p != trueClass && matrix.Counts[trueClass, p] > bestCount) (best, bestCount) = (p, matrix.Counts[trueClass, p]);
        if (best < 0) return "<td data-v=\"\"></td>";
        var name = Html.Escape(matrix.ClassNames[best]);
        return $"<td data-v=\"{name}\">{name} <span class=\"count\">({bestCount})</span></td>";
    }
}
