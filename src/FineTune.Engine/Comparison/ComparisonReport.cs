using FineTune.Charts;
using FineTune.IO;

namespace FineTune.Comparison;

/// <summary>
/// What <c>finetune compare</c> leaves in its output folder: the table as Markdown and JSON, and the validation curves of
/// all runs (the page, compare.html, is Reports.ComparisonPage, which <see cref="Experiment.Compare"/> writes beside them).
/// </summary>
public static class ComparisonReport
{
    public const string MarkdownFile = "results_table.md";
    public const string JsonFile = "results_table.json";
    public const string CurvesFile = "val_accuracy_curves.png";

    /// <summary>Writes the three files atomically into <paramref name="folder"/> and returns the table (to print).</summary>
    public static ResultsTable Write(string folder, IReadOnlyList<RunResult> runs, bool includeSeedConfigurations = true)
    {
        var table = new ResultsTable(runs, includeSeedConfigurations);
        AtomicWrite.Text(Path.Combine(folder, MarkdownFile), table.ToMarkdown());
        AtomicWrite.Text(Path.Combine(folder, JsonFile), table.ToJson());
        AtomicWrite.Bytes(Path.Combine(folder, CurvesFile), RenderCurves(runs));
        return table;
    }

    /// <summary>The validation curves of every run in one chart, as the PNG <see cref="CurvesFile"/> holds (compare.html embeds it too).</summary>
    public static byte[] RenderCurves(IReadOnlyList<RunResult> runs) => ValidationCurvesChart.Render(
        ResultsCollector.Order(runs).Select(r => new NamedHistory(r.Experiment, r.History)).ToList(),
        "Validation accuracy: fine-tuned vs from scratch");
}
