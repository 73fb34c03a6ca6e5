using System.Text;
using FineTune.Comparison;
using FineTune.IO;

namespace FineTune.Reports;

/// <summary>
/// <c>compare.html</c>: `finetune compare`'s runs side by side on one self-contained page (the style and script of
/// report.html, the chart inline): a row per run, fine-tuned beside from-scratch for each backbone, the gap pretraining
/// made, the validation curves, and a link to each run's report.html where `finetune test` wrote one.
/// </summary>
public static class ComparisonPage
{
    public const string FileName = "compare.html";

    /// <summary>
    /// Writes the page to <paramref name="path"/> atomically. <paramref name="reportOf"/> gives a run's report.html, or
    /// null when it has none; the page links it by a path relative to itself, so the folders can move together.
    /// </summary>
    public static void Save(string path, IReadOnlyList<RunResult> runs, byte[] curvesPng, Func<RunResult, string?> reportOf)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        AtomicWrite.With(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            HtmlReport.WriteHead(w, "Comparison: fine-tuned vs from scratch");
            w.WriteLine($"<header><h1>Fine-tuned vs from scratch</h1><p class=\"sub\">{runs.Count} run{(runs.Count == 1 ? "" : "s")} compared</p>");
            w.WriteLine("<nav><a href=\"#runs\">Runs</a><a href=\"#gap\">Pretraining</a><a href=\"#curves\">Validation curves</a></nav></header>");
            WriteRuns(w, runs, run => reportOf(run) is { } report ? RelativeLink(folder, report) : null);
            WriteGaps(w, PretrainingGap.For(runs));
            w.WriteLine("<section id=\"curves\"><h2>Validation accuracy per epoch</h2>");
            w.WriteLine($"<img class=\"chart\" alt=\"validation accuracy per epoch of every run\" src=\"{Thumbnails.PngDataUri(curvesPng)}\"></section>");
            HtmlReport.WriteTail(w, $"Written by FineTune's <code>finetune compare</code>; the same numbers are in {ComparisonReport.MarkdownFile} and {ComparisonReport.JsonFile} beside this file, with the spread over split seeds where runs repeat one configuration.");
        });
    }

    /// <summary>One row per run, in the table's order (backbone, then fine-tuned before from scratch), sortable by any column.</summary>
    static void WriteRuns(TextWriter w, IReadOnlyList<RunResult> runs, Func<RunResult, string?> link)
    {
        w.WriteLine("<section id=\"runs\"><h2>Runs</h2><p class=\"hint\">Accuracies at each run's best epoch (highest validation accuracy); " +
                    "the seed's column is the PyTorch seed's published test accuracy for the same configuration, for reference.</p>");
        w.WriteLine("<div class=\"table-wrap\"><table id=\"runs-table\" class=\"sortable\"><thead><tr><th>Model</th><th>Experiment</th>" +
                    "<th data-type=\"num\">Best epoch</th><th data-type=\"num\">Train (%)</th><th data-type=\"num\">Validation (%)</th>" +
                    "<th data-type=\"num\">Test (%)</th><th data-type=\"num\">Seed's test (%)</th><th data-type=\"num\">Wall time</th><th>Report</th></tr></thead><tbody>");
        foreach (var run in ResultsCollector.Order(runs))
        {
            string Num(double? fraction) => fraction is { } f
                ? $"<td class=\"num\" data-v=\"{Html.Data(100 * f)}\">{Html.Fixed(100 * f, 2)}</td>"
                : $"<td class=\"num unknown\" data-v=\"-1\">{ResultsTable.NotTested}</td>";
            var seed = SeedResults.Find(run.Backbone, run.Mode);
            var report = link(run);
            w.WriteLine($"<tr class=\"run {ResultsTable.ModeName(run.Mode)}\"><td>{Html.Escape(BackboneNames.Model(run.Backbone, run.Mode))}</td>" +
                        $"<td class=\"name\">{Html.Escape(run.Experiment)}</td><td class=\"num\">{run.BestEpoch}</td>" +
                        Num(run.TrainAccuracy) + Num(run.ValAccuracy) + Num(run.TestAccuracy) +
                        (seed is null ? "<td class=\"num\" data-v=\"-1\">-</td>" : $"<td class=\"num\" data-v=\"{Html.Data(seed.TestPercent)}\">{Html.Fixed(seed.TestPercent, 2)}</td>") +
                        $"<td class=\"num\" data-v=\"{Html.Data(run.WallSeconds)}\">{Html.Seconds(run.WallSeconds)}</td>" +
                        (report is null ? "<td class=\"unknown\">none</td>" : $"<td><a class=\"report\" href=\"{Html.Escape(report)}\">report.html</a></td>") + "</tr>");
        }
        w.WriteLine("</tbody></table></div></section>");
    }

    static void WriteGaps(TextWriter w, IReadOnlyList<PretrainingGap> gaps)
    {
        w.WriteLine("<section id=\"gap\"><h2>What pretraining gave</h2>");
        if (gaps.Count == 0)
            w.WriteLine("<p class=\"unknown\">No backbone has both a fine-tuned and a from-scratch run: train both (e.g. configs/resnet18_finetune.yaml and resnet18_scratch.yaml) to see the gap.</p>");
        else
            w.WriteLine("<ul>" + string.Concat(gaps.Select(g => $"<li class=\"gap\">{Html.Escape(g.ToString())}</li>")) + "</ul>");
        w.WriteLine("</section>");
    }

    /// <summary><paramref name="file"/> as a URL relative to <paramref name="folder"/>: forward slashes, each segment escaped.</summary>
    static string RelativeLink(string folder, string file) =>
        string.Join('/', Path.GetRelativePath(folder, Path.GetFullPath(file))
            .Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)
            .Select(segment => segment == ".." ? segment : Uri.EscapeDataString(segment)));
}
