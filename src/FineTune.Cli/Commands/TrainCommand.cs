using FineTune.Charts;
using FineTune.Comparison;
using FineTune.Config;
using FineTune.Distributed;
using FineTune.IO;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Data;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune train --config F [--experiment_name N] [--gpu 0] [--distributed] [--local_rank R] [--resume P] [--dry-run]`:
/// the seed's train.py.
/// </summary>
public static class TrainCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "distributed", "dry_run" };

    /// <summary>Image folders: the experiment's split, the seed's transforms, the parallel loader.</summary>
    /// <summary>Tests may replace it; null means the experiment's split with this rank's shard (FolderTrainingData).</summary>
    public static Func<FineTuneConfig, Preprocessing, TrainingData>? FolderLoader { get; set; }

    public static int Run(CommandLine cl)
    {
        var configPath = cl.Require("config", "the YAML config to train with, e.g. configs/resnet18_finetune.yaml");
        var experimentName = cl.Get("experiment_name");
        var gpu = cl.Get("gpu");
        bool distributed = cl.Flag("distributed");
        cl.GetInt("local_rank", 0); // accepted for the seed's launch scripts; MPI assigns ranks
        var resumePath = cl.Get("resume");
        bool dryRun = cl.Flag("dry_run");
        var precisionText = cl.Get("precision");
        cl.RejectUnknown("train");

        var config = ConfigLoader.Load(configPath);
        if (precisionText is not null)
            config = config with { Training = config.Training with { Precision = PrecisionOption.Read(precisionText)!.Value } };
        if (experimentName is not null)
        {
            if (!ExperimentConfig.IsFolderName(experimentName))
                throw new UsageException($"--experiment_name '{experimentName}' cannot be a folder name: use letters, digits, '-' and '_'.");
            config = config with { Experiment = config.Experiment with { Name = experimentName } };
        }

        if (dryRun) return DryRun(config, resumePath);

        // Fail on unwritable outputs and a missing dataset before loading any weights or data.
        OutputFolders.EnsureWritable(config.Experiment.RunCheckpointDir, "experiment.checkpoint_dir");
        OutputFolders.EnsureWritable(config.Experiment.RunLogDir, "experiment.log_dir");
        if (config.Data.Source == DataSource.Folder) TrainingDataFactory.EnsureDatasetPresent(config);

        // Kernels verified on this CPU before libtorch computes anything; a run that died natively makes this one more careful.
        bool mainRank = LaunchInfo.FromEnvironment() is not { Rank: > 0 };
        var kernelRequest = KernelRequest.ForConfig(config, training: true);
        if (mainRank && RunMarker.Unfinished(config.Experiment.RunCheckpointDir) is { } unfinished)
        {
            Console.WriteLine(RunMarker.Explain(unfinished, config.Experiment.RunCheckpointDir));
            KernelCheck.Escalate(kernelRequest);
        }
        var kernels = KernelSetup.Prepare(kernelRequest, mainRank ? Console.Out : TextWriter.Null);
        using var marker = mainRank ? RunMarker.Begin(config.Experiment.RunCheckpointDir, kernels.Summary()) : null;
        TorchNative.EnsureLoaded();
        // One process, or rank r of N under mpirun with --distributed (see README: data-parallel training).
        using var dist = DistributedContext.Create(distributed);
        // Listen from here on: a SIGUSR1 that mpirun forwards while weights or data load would otherwise end the rank at once.
        var stop = new StopSignal();
        using var signals = stop.ListenToProcessSignals();
        if (dist.IsDistributed && config.Training.Threads == 0) set_num_threads(LaunchInfo.ThreadsPerRank());
        var device = dist.IsDistributed ? dist.SelectDevice(gpu) : ChooseDevice(gpu);
        random.manual_seed(config.Data.Seed);
        var log = dist.IsMain ? Console.Out : TextWriter.Null;

        CheckpointFile? resume = null;
        ResNet model;
        Preprocessing preprocessing;
        if (resumePath is not null)
        {
            resume = CheckpointFile.Load(resumePath);
            resume.EnsureMatches(config.Model.Backbone, config.Model.NumClasses, $"the config {configPath}");
            model = resume.CreateModel();
            preprocessing = resume.Info.Preprocessing ?? Preprocessing.ImageNet;
        }
        else
        {
            var weights = config.Model.Pretrained ? WeightsCatalog.Resolve(config.Model.Backbone, config.Model.Weights) : null;
            model = ModelFactory.Create(config.Model.Backbone, weights, config.Model.NumClasses);
            preprocessing = weights?.Preprocessing ?? Preprocessing.ImageNet;
            log.WriteLine(weights is null
                ? $"Model: {config.Model.Backbone} from scratch, {config.Model.NumClasses} classes."
                : $"Model: {config.Model.Backbone} from {weights.Name} ({weights.Provenance}), {config.Model.NumClasses} classes.");
        }
        using var _ = model;
        model.to(device);
        dist.BroadcastState(model); // every rank starts from rank 0's weights
        using var syncBatchNorm = dist.IsDistributed && config.Training.SyncBatchNorm ? SyncBatchNorm.Convert(model, dist.Comm) : null;

        var loader = FolderLoader ?? ((c, p) => FolderTrainingData.Open(c, p, dist.Rank, dist.WorldSize));
        var data = new TrainingDataFactory(loader, dist.Rank, dist.WorldSize).Open(config, preprocessing);
        log.WriteLine($"Data: {data.Train.ImageCount} training and {data.Val.ImageCount} validation images in {data.ClassNames.Count} classes; batch {config.Data.BatchSize}; device {device}{(dist.IsDistributed ? $"; {dist.WorldSize} ranks, batch {config.Data.BatchSize} each" : "")}.");

        var progress = dist.IsMain ? ProgressReporter.ForConsole() : ProgressReporter.Silent();
        var trainer = new Trainer(config, model, data, preprocessing, progress, stop, dist.IsDistributed ? dist : null, device);
        var result = trainer.Run(resume);
        if (dist.IsMain) WriteRunSummary(config, result);
        (data.Train as IDisposable)?.Dispose();
        (data.Val as IDisposable)?.Dispose();
        (data.TrainUnaugmented as IDisposable)?.Dispose();
        // Every outcome is agreed by all ranks (a stop, a diverged loss), so all of them leave MPI together; a rank
        // that throws skips this and exits non-zero, which makes mpirun end the whole job.
        dist.Finish();
        return result.Outcome switch
        {
            TrainingOutcome.Interrupted => stop.ExitCode,
            TrainingOutcome.Diverged => 1,
            _ => 0,
        };
    }

    static int DryRun(FineTuneConfig config, string? resumePath)
    {
        Console.WriteLine($"# Resolved config from {config.Source} (defaults filled in); nothing is trained (--dry-run).");
        Console.Write(ConfigPrinter.ToYaml(config));
        Console.WriteLine();
        Console.WriteLine($"# checkpoints: {Path.GetFullPath(config.Experiment.RunCheckpointDir)}");
        Console.WriteLine($"# logs:        {Path.GetFullPath(config.Experiment.RunLogDir)}");
        Console.WriteLine($"# weights:     {(config.Model.Pretrained ? $"pretrained ({config.Model.Weights})" : "none (from scratch)")}");
        Console.WriteLine($"# data:        {(config.Data.Source == DataSource.Synthetic ? "synthetic images" : Path.GetFullPath(config.Data.DataDir) + (Directory.Exists(config.Data.DataDir) ? "" : " (missing: run `finetune data prepare`)"))}");
        if (resumePath is not null) Console.WriteLine($"# resume from: {resumePath}{(File.Exists(resumePath) ? "" : " (missing)")}");
        return 0;
    }

    /// <summary>
    /// The seed's `<name>_curves.png` and a results.json (best epoch, accuracies, history) beside the
    /// checkpoints: `finetune test` adds the test accuracy, `finetune compare` collects them.
    /// </summary>
    static void WriteRunSummary(FineTuneConfig config, TrainingResult result)
    {
        if (result.History.Count == 0 || !result.History.Any(r => double.IsFinite(r.ValAccuracy))) return;
        var folder = config.Experiment.RunCheckpointDir;
        var name = config.Experiment.Name;
        var curves = TrainingCurvesChart.Save(folder, name, result.History);
        var mode = config.Model.Pretrained ? TrainingMode.Finetune : TrainingMode.Scratch;
        // A resumed run (its history continues an earlier results.json) adds its time to the earlier run's.
        var resultsPath = Path.Combine(folder, ResultsFile.FileName);
        var previous = File.Exists(resultsPath) ? ResultsFile.Read(resultsPath) : null;
        double earlier = previous is not null && previous.History.Count < result.History.Count ? previous.WallSeconds : 0;
        double wall = result.Elapsed.TotalSeconds + earlier;
        ResultsFile.Write(folder, RunResult.FromHistory(name, config.Model.Backbone, mode, result.History, wall));
        Console.WriteLine($"Curves: {curves}; results: {Path.Combine(folder, ResultsFile.FileName)}");
    }

    /// <summary>The seed's --gpu, as a usage error (exit 2) when it cannot be honoured.</summary>
    internal static Device ChooseDevice(string? gpu)
    {
        try { return TorchNative.SelectDevice(gpu); }
        catch (Exception e) when (e is ArgumentException or NativeLibraryException) { throw new UsageException(e.Message); }
    }
}
