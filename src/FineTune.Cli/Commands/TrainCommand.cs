using FineTune.Comparison;
using FineTune.Config;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Cli.Output;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune train --config F [--experiment_name N] [--seed N] [--gpu 0] [--distributed] [--local_rank R] [--resume P] [--dry-run]`:
/// the seed's train.py.
/// </summary>
public static class TrainCommand
{
    public static int Run(CommandLine cl)
    {
        if (cl.Get("data_dir") is { } photos) return FolderTrain.Run(cl, photos);
        var configPath = cl.Require("config", "the YAML config to train with, e.g. configs/resnet18_finetune.yaml, or --data_dir PHOTOS to train on a folder of photos in one command");
        var experimentName = cl.Get("experiment_name");
        var seed = cl.GetInt("seed");
        var gpu = cl.Get("gpu");
        bool distributed = cl.Flag("distributed");
        cl.GetInt("local_rank", 0); // accepted for the seed's launch scripts; MPI assigns ranks
        var resumePath = cl.Get("resume");
        bool dryRun = cl.Flag("dry_run");
        var precisionText = cl.Get("precision");
        cl.RejectUnknown("train");

        var config = ConfigLoader.Load(configPath);
        if (seed is { } splitSeed) config = SeedSpread.WithSplitSeed(config, splitSeed);
        if (precisionText is not null)
            config = config with { Training = config.Training with { Precision = PrecisionOption.Read(precisionText)!.Value } };
        if (experimentName is not null)
        {
            EnsureFolderName(experimentName);
            config = config with { Experiment = config.Experiment with { Name = experimentName } };
        }

        if (dryRun) return DryRun(config, resumePath);

        using var signals = new SignalStop();
        var result = Run(config, new TrainOptions { ResumeFrom = resumePath, Gpu = gpu, Distributed = distributed, Logger = ConsoleOutput.Logger(), Progress = ConsoleOutput.Progress() }, signals);
        return ExitCode(result);
    }

    /// <summary>
    /// <see cref="Experiment.Train"/> with Ctrl-C, SIGTERM and SIGUSR1 mapped onto its token while training runs
    /// (an unusable --gpu ends as a usage error in Program.cs, as for every command).
    /// </summary>
    internal static TrainingResult Run(FineTuneConfig config, TrainOptions options, SignalStop signals) =>
        Experiment.Train(config, options with { ListenForStop = signals.Listen, StopReason = () => signals.Signal }, signals.Token);

    /// <summary>--experiment_name becomes a folder under the output folders: refused when it cannot be one.</summary>
    internal static void EnsureFolderName(string experimentName)
    {
        if (!ExperimentConfig.IsFolderName(experimentName))
            throw new UsageException($"--experiment_name '{experimentName}' cannot be a folder name: use letters, digits, '-' and '_'.");
    }

    /// <summary>0 for a finished run; a stop ends with its signal's code (130 SIGINT, 143 SIGTERM/SIGUSR1), a diverged loss with 1.</summary>
    internal static int ExitCode(TrainingResult result) => result.Outcome switch
    {
        TrainingOutcome.Interrupted => StopReason.ExitCode(result.StopReason),
        TrainingOutcome.Diverged => 1,
        _ => 0,
    };

    static int DryRun(FineTuneConfig config, string? resumePath)
    {
        Console.WriteLine($"# Resolved config from {config.Source} (defaults filled in); nothing is trained (--dry-run).");
        Console.Write(ConfigPrinter.ToYaml(config));
        Console.WriteLine();
        Console.WriteLine($"# checkpoints: {Path.GetFullPath(config.Experiment.RunCheckpointDir)}");
        Console.WriteLine($"# logs:        {Path.GetFullPath(config.Experiment.RunLogDir)}");
        Console.WriteLine($"# weights:     {(!config.Model.Pretrained ? "none (from scratch)" : StartingCheckpoint.Names(config.Model.Weights) ? $"checkpoint {config.Model.Weights} (a new run from its weights)" : $"pretrained ({config.Model.Weights})")}");
        Console.WriteLine($"# data:        {(config.Data.Source == DataSource.Synthetic ? "synthetic images" : Path.GetFullPath(config.Data.DataDir) + (Directory.Exists(config.Data.DataDir) ? "" : " (missing: run `finetune data prepare`)"))}");
        if (resumePath is not null) Console.WriteLine($"# resume from: {resumePath}{(File.Exists(resumePath) ? "" : " (missing)")}");
        return 0;
    }
}
