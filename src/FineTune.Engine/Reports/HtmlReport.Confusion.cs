using FineTune.Evaluation;

namespace FineTune.Reports;

public static partial class HtmlReport
{
    /// <summary>Above this many classes the matrix's cells are too small for their counts (hover a cell for it).</summary>
    const int CountsUpToClasses = 30;

    static void WriteConfusion(TextWriter w, TestReport report, IReadOnlyList<ConfusedPair> pairs)
    {
        var names = report.ClassNames;
        w.WriteLine("<section id=\"confusion\"><h2>Confusion</h2>");
        w.WriteLine("<h3>Most confused pairs</h3>");
        if (pairs.Count == 0) w.WriteLine("<p>No image was misclassified.</p>");
        else
        {
            w.WriteLine("<table class=\"pairs\"><thead><tr><th>Example</th><th>True class</th><th></th><th>Predicted as</th><th>Images</th><th>Share of the true class</th></tr></thead><tbody>");
            foreach (var pair in pairs)
            {
                var rowTotal = report.Confusion.RowTotal(pair.True);
                w.WriteLine($"<tr class=\"pair\"><td>{Thumbnail(pair.Thumbnail, pair.Example.Path)}</td><td>{Html.Escape(names[pair.True])}</td><td class=\"arrow\">&rarr;</td>" +
                            $"<td>{Html.Escape(names[pair.Predicted])}</td><td class=\"num\">{Html.Count(pair.Count)}</td>" +
                            $"<td class=\"num\">{Html.Percent(pair.Count / (double)rowTotal)} of {Html.Count(rowTotal)}</td></tr>");
            }
            w.WriteLine("</tbody></table>");
        }
        WriteMatrix(w, report.Confusion);
        w.WriteLine("</section>");
    }

    /// <summary>
    /// The matrix as a table of coloured cells: blue on the diagonal (right), red off it (mistakes), shade by the
    /// cell's share of its row on a square-root scale so that one mistake in a large class still shows, as in
    /// confusion_matrix.png. Empty cells carry no markup beyond the cell, which keeps 101 classes near 100 KB.
    /// </summary>
    static void WriteMatrix(TextWriter w, ConfusionMatrix matrix)
    {
        var n = matrix.ClassCount;
        var showCounts = n <= CountsUpToClasses;
        var names = matrix.ClassNames.Select(Html.Escape).ToList();
        w.WriteLine($"<h3>Confusion matrix</h3><p class=\"hint\">Rows: true class; columns: predicted class. Blue: right; red: mistakes; darker: a larger share of the row. {(showCounts ? "Numbers are image counts." : "Hover a cell for its classes and count.")}</p>");
        w.WriteLine($"<div class=\"cm-wrap\"><table class=\"cm{(showCounts ? " big" : "")}\"><thead><tr><th class=\"corner\">predicted &rarr;<br>true &darr;</th>");
        foreach (var name in names) w.Write($"<th class=\"col\" title=\"{name}\"><span>{name}</span></th>");
        w.WriteLine("</tr></thead><tbody>");
        for (var t = 0; t < n; t++)
        {
            var total = matrix.RowTotal(t);
            w.Write($"<tr><th class=\"row\" title=\"{names[t]}\">{names[t]}</th>");
            for (var p = 0; p < n; p++)
            {
                var count = matrix.Counts[t, p];
                if (count == 0) { w.Write("<td></td>"); continue; }
                var share = count / (double)total;
                var level = Math.Clamp((int)Math.Ceiling(Math.Sqrt(share) * 8), 1, 8);
                var kind = t == p ? "d" : "e";
                w.Write($"<td class=\"{kind}{level}\" title=\"{names[t]} &rarr; {names[p]}: {Html.Count(count)} ({Html.Percent(share)} of {names[t]})\">{(showCounts ? Html.Count(count) : "")}</td>");
            }
            w.WriteLine("</tr>");
        }
        w.WriteLine("</tbody></table></div>");
    }

    /// <summary>An image element for a thumbnail, or a grey box saying why there is none.</summary>
    internal static string Thumbnail(string? dataUri, string path) => dataUri is null
        ? $"<div class=\"noimg\" title=\"{Html.Escape(path)}\">no image</div>"
        : $"<img src=\"{dataUri}\" alt=\"{Html.Escape(Path.GetFileName(path))}\" title=\"{Html.Escape(path)}\" loading=\"lazy\">";
}
