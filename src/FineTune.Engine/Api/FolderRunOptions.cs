using FineTune.Planning;
using FineTune.Training;
using FineTune.Logging;
using Microsoft.Extensions.Logging;

namespace FineTune;

/// <summary>How <see cref="Experiment.TrainOnFolder"/> runs: the flags of `finetune train --data_dir`. Null lets the planner choose.</summary>
public sealed record FolderRunOptions
{
    /// <summary>`--time_budget`: from the start of the call to the ONNX file, planned to fit (like mlnet's --train-time).</summary>
    public TimeSpan TimeBudget { get; init; } = TimeSpan.FromMinutes(10);

    public string Backbone { get; init; } = "resnet18";

    /// <summary>model.weights: auto, bundled, torchvision, or a weights file.</summary>
    public string Weights { get; init; } = "auto";

    /// <summary>Fine-tuning epochs (0: the linear probe alone, on a CPU); the run then has no epoch deadline.</summary>
    public int? Epochs { get; init; }

    /// <summary>The evaluation (and probe) size; training crops are 0.9 of it.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Null: the folder's name, with -2, -3... when an experiment of that name exists.</summary>
    public string? ExperimentName { get; init; }

    /// <summary>checkpoints/, logs/ and test_reports/ go under this folder.</summary>
    public string OutputRoot { get; init; } = "outputs";

    /// <summary>The seed's `--gpu 0`: plans the seed's full fine-tune on that device. Null: the CPU recipe.</summary>
    public string? Gpu { get; init; }

    /// <summary>Where the plan, the summaries and warnings go; null: nowhere (the library is quiet unless given a logger).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Every batch of the probe's feature pass, training, validation and test, for a progress bar; null: none.</summary>
    public IProgress<ProgressUpdate>? Progress { get; init; }

    /// <summary>As <see cref="TrainOptions.ListenForStop"/> and <see cref="TrainOptions.StopReason"/> (the command line's signals).</summary>
    public Func<IDisposable>? ListenForStop { get; init; }
    public Func<string?>? StopReason { get; init; }
}

/// <summary>What <see cref="Experiment.TrainOnFolder"/> planned, trained and wrote. Test, report and ONNX are null when training did not finish.</summary>
public sealed record FolderRunResult(RunPlan Plan, string ConfigPath, TrainingResult Training, TestResult? Test, string? OnnxPath, TimeSpan Elapsed)
{
    /// <summary>report.html, when the test wrote one.</summary>
    public string? ReportPath => Test?.Files.FirstOrDefault(f => Path.GetFileName(f) == "report.html");
}
