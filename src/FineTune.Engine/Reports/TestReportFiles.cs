using System.Text.Json;
using FineTune.Charts;
using FineTune.Evaluation;
using FineTune.IO;

namespace FineTune.Reports;

/// <summary>The files of a <see cref="TestReport"/> (<c>finetune test</c>'s report folder, besides its HTML page).</summary>
public static class TestReportFiles
{
    /// <summary>
    /// Writes the report files into <paramref name="folder"/> (created if needed), each atomically, and
    /// returns their paths. <paramref name="digits"/> is the text report's decimals (scikit-learn's default 2).
    /// </summary>
    public static IReadOnlyList<string> Write(TestReport report, string folder, int digits = 2)
    {
        try { Directory.CreateDirectory(folder); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create the report folder {folder}: {e.Message}; choose another --output_dir", e);
        }
        var written = new List<string>();
        void Write(string name, Action<string> write)
        {
            var path = Path.Combine(folder, name);
            write(path);
            written.Add(path);
        }
        var summary = report.Summary;
        Write(TestReport.ReportTextFile, p => AtomicWrite.Text(p, ClassificationReport.ToText(report.Metrics, digits)));
        Write(TestReport.ReportJsonFile, p => AtomicWrite.Text(p, ClassificationReport.ToJsonText(report.Metrics)));
        Write(TestReport.ConfusionCsvFile, p => AtomicWrite.Text(p, report.Confusion.ToCsv()));
        Write(TestReport.ConfusionPngFile, p => ConfusionMatrixChart.Save(p, report.Confusion, summary.Experiment is { } name ? $"Confusion matrix: {name}" : "Confusion matrix"));
        Write(TestReport.MisclassifiedCsvFile, p => AtomicWrite.Text(p, MisclassifiedFiles.ToCsv(report.Samples, report.ClassNames)));
        Write(TestReport.SummaryJsonFile, p => AtomicWrite.Text(p, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }) + "\n"));
        return written;
    }
}
