using FineTune.Config;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Logging;
using Microsoft.Extensions.Logging;

namespace FineTune;

/// <summary>How <see cref="Experiment.Test"/> evaluates a checkpoint: the flags of `finetune test`.</summary>
public sealed record TestOptions
{
    /// <summary>`finetune test`'s default report folder; each experiment gets its own subfolder.</summary>
    public const string DefaultOutputDir = "outputs/test_reports";

    /// <summary>The report goes into &lt;OutputDir&gt;/&lt;ExperimentName&gt;.</summary>
    public string OutputDir { get; init; } = DefaultOutputDir;

    /// <summary>The report's subfolder and title; null means the config's experiment.name.</summary>
    public string? ExperimentName { get; init; }

    /// <summary>The seed's `--gpu 0`; null evaluates on the CPU.</summary>
    public string? Gpu { get; init; }

    /// <summary>Overrides training.precision (fp32, bf16, auto) for the evaluation.</summary>
    public PrecisionSetting? Precision { get; init; }

    /// <summary>Where the kernel plan, the test's lines and the summary go; null: nowhere (the library is quiet unless given a logger).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Every batch of the test pass (<see cref="ProgressPhase.Test"/>), for a progress bar; null: none.</summary>
    public IProgress<ProgressUpdate>? Progress { get; init; }
}

/// <summary>What <see cref="Experiment.Test"/> measured and wrote.</summary>
/// <param name="Report">Accuracy, per-class metrics, confusion matrix and misclassified files (<c>Report.Summary.Accuracy</c> is top-1).</param>
/// <param name="ReportDir">The folder the report files were written to.</param>
/// <param name="Files">The files written there.</param>
public sealed record TestResult(TestReport Report, string ReportDir, IReadOnlyList<string> Files);
