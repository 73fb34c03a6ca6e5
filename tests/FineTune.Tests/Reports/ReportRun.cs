using FineTune.Evaluation;
using FineTune.Reports;
using FineTune.Tests.Cli;

namespace FineTune.Tests.Reports;

/// <summary>
/// `finetune test` run on a tiny folder experiment (seeded random weights, so it gets plenty wrong): the report folder,
/// report.html and the rows of misclassified.csv. <paramref name="renameFirstClass"/> gives the first class folder
/// another name before the split is made, e.g. one that must be escaped.
/// </summary>
sealed class ReportRun
{
    public FolderExperiment Experiment { get; }
    public string ReportDir { get; }
    public string HtmlPath => System.IO.Path.Combine(ReportDir, HtmlReport.FileName);
    public string Html => File.ReadAllText(HtmlPath);

    /// <summary>misclassified.csv's data rows (the header left out); no test path holds a line break.</summary>
    public IReadOnlyList<string> MisclassifiedRows =>
        File.ReadAllLines(System.IO.Path.Combine(ReportDir, TestReport.MisclassifiedCsvFile)).Skip(1).Where(l => l.Length > 0).ToList();

    public ReportRun(int classes, int perClass, string? renameFirstClass = null)
    {
        Experiment = new FolderExperiment(classes: classes, perClass: perClass, arrangeData: renameFirstClass is null ? null : data =>
        {
            var first = Directory.GetDirectories(data).Order(StringComparer.Ordinal).First();
            Directory.Move(first, System.IO.Path.Combine(data, renameFirstClass));
        });
        var reports = System.IO.Path.Combine(Experiment.Root, "reports");
        // fp32 whatever the CPU: `auto` is bf16 where the CPU computes it faster (an AMD EPYC of family 26), and bf16 evaluates in
        // libtorch, not ONNX Runtime, so the run card's engine line would depend on the machine.
        FinetuneProgram.Run(Experiment.Root, "test", "--config", Experiment.ConfigPath, "--model_path", Experiment.CheckpointPath, "--output_dir", reports,
            "--precision", "fp32").Succeeded();
        ReportDir = System.IO.Path.Combine(reports, "folder_run");
    }
}
