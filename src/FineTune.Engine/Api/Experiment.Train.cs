using FineTune.Charts;
using FineTune.Comparison;
using FineTune.Config;
using FineTune.Data;
using FineTune.Distributed;
using FineTune.Export;
using FineTune.IO;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;
using FineTune.Logging;

namespace FineTune;

/// <summary>
/// The jobs of the seed's scripts as calls: <see cref="Train"/> (train.py), <see cref="Test"/> (test.py) and
/// <see cref="TrainTestAndCompare"/> (train.sh, test.sh and the results table). `finetune train`, `test`,
/// `compare` and `quickstart` are these calls with their arguments parsed.
/// </summary>
public static partial class Experiment
{
    /// <summary>
    /// Trains <paramref name="config"/> as `finetune train` does: checks the output folders and the dataset, runs the
    /// kernel check, builds the model (pretrained weights, a checkpoint named by model.weights (see <see cref="StartingCheckpoint"/>), from scratch, or <see cref="TrainOptions.ResumeFrom"/>) and
    /// the data, trains, and writes the checkpoints, TensorBoard logs, `&lt;name&gt;_curves.png` and results.json under
    /// experiment.checkpoint_dir/&lt;name&gt;.
    /// </summary>
    /// <param name="cancellationToken">Stops training cleanly: the step in flight finishes, a resumable checkpoint is
    /// written and the result's outcome is <see cref="TrainingOutcome.Interrupted"/>. Under MPI a stop on any rank stops all.</param>
    /// <returns>How the run ended; a diverged loss or a stop is an outcome, not an exception.</returns>
    /// <exception cref="DeviceNotAvailableException">The <see cref="TrainOptions.Gpu"/> asked for cannot be used.</exception>
    public static TrainingResult Train(FineTuneConfig config, TrainOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TrainOptions();
        bool mainRank = LaunchInfo.FromEnvironment() is not { Rank: > 0 };
        var console = new LoggerWriter(options.Logger);
        // A data folder train cannot use (missing, laid out wrongly, a class too small, num_classes not its class count) is
        // refused before any output folder is made, so a refused run leaves nothing behind; then unwritable outputs fail
        // before any weights load.
        PreparedSplit? split = null;
        if (config.Data.Source == DataSource.Folder && options.Data is null)
            split = FolderTrainingData.Prepare(config);
        // model.weights naming a checkpoint (not a resume, which restores its own weights): read and checked up front.
        var startingCheckpoint = options.ResumeFrom is null ? StartingCheckpoint.For(config) : null;
        if (split is not null) startingCheckpoint?.EnsureSomethingTrains(config, split.Manifest.Classes);
        OutputFolders.EnsureWritable(config.Experiment.RunCheckpointDir, "experiment.checkpoint_dir");
        OutputFolders.EnsureWritable(config.Experiment.RunLogDir, "experiment.log_dir");
        if (mainRank && split is not null)
            foreach (var line in split.Notes()) console.WriteLine(line);

        // Kernels verified on this CPU before libtorch computes anything; a run that died natively makes this one more careful.
        // Probed on the threads the run will compute on: oneDNN plans by thread count (a rank of N shares the cores).
        int threads = options.Distributed && config.Training.Threads == 0 ? LaunchInfo.ThreadsPerRank() : config.Training.Threads;
        var kernelRequest = KernelRequest.ForConfig(config, training: true) with { Threads = threads };
        if (mainRank && RunMarker.Unfinished(config.Experiment.RunCheckpointDir) is { } unfinished)
        {
            // The run that owned them is dead, so its temporary files are torn writes, never to be finished.
            var torn = AtomicWrite.RemoveUnfinished(config.Experiment.RunCheckpointDir);
            console.WriteLine(RunMarker.Explain(unfinished, config.Experiment.RunCheckpointDir, torn));
            KernelCheck.Escalate(kernelRequest);
        }
        // One plan for the whole job: rank 0 checks (or reads its cache, stepped down after a death) and hands its plan to
        // every rank once MPI is up. Ranks checking on their own could choose differently (routes, channels-last, bf16),
        // or read the plan that rank 0 is about to step down.
        bool checksHere = mainRank || !options.Distributed;
        var kernels = checksHere
            ? KernelCheck.PrepareAndReport(kernelRequest, mainRank ? console : TextWriter.Null, options.Kernels.Host)
            : KernelPlan.Unchecked("waiting for rank 0's plan");
        using var marker = mainRank ? RunMarker.Begin(config.Experiment.RunCheckpointDir, kernels.Summary()) : null;
        TorchNative.EnsureLoaded();
        // One process, or rank r of N under mpirun with --distributed (see docs/distributed.md).
        using var dist = DistributedContext.Create(options.Distributed);
        if (dist.IsDistributed)
        {
            kernels = KernelCheck.Adopt(KernelPlan.FromShared(dist.BroadcastText(kernels.ToShared())));
            if (dist.IsMain) console.WriteLine($"Kernels: rank 0's plan, used by all {dist.WorldSize} ranks.");
        }
        options.Kernels.OnPlan?.Invoke(kernels);
        var routing = kernels.Routing(options.Kernels.Interceptor);
        // From here on a stop is honoured: a SIGUSR1 that mpirun forwards while weights or data load would otherwise end the rank at once.
        using var listening = options.ListenForStop?.Invoke();
        if (dist.IsDistributed && config.Training.Threads == 0) set_num_threads(threads);
        var device = dist.IsDistributed ? dist.SelectDevice(options.Gpu) : ModelSetup.SelectDevice(options.Gpu);
        random.manual_seed(config.Data.Seed);
        var log = dist.IsMain ? console : TextWriter.Null;

        CheckpointFile? resume = null;
        ResNet model;
        Preprocessing preprocessing;
        if (options.ResumeFrom is not null)
        {
            resume = CheckpointFile.Load(options.ResumeFrom);
            resume.EnsureMatches(config.Model.Backbone, config.Model.NumClasses, $"the config {config.Source}");
            model = resume.CreateModel(routing);
            preprocessing = resume.Info.Preprocessing ?? Preprocessing.ImageNet;
        }
        else if (startingCheckpoint is not null)
        {
            model = startingCheckpoint.CreateModel(routing);
            preprocessing = startingCheckpoint.Preprocessing;
        }
        else
        {
            var weights = config.Model.Pretrained ? WeightsCatalog.Resolve(config.Model.Backbone, config.Model.Weights) : null;
            model = PretrainedModel.Create(config.Model.Backbone, weights, config.Model.NumClasses, routing);
            foreach (var warning in weights?.Warnings ?? []) console.Warning(warning);
            preprocessing = weights?.Preprocessing ?? Preprocessing.ImageNet;
            log.WriteLine(weights is null
                ? $"Model: {config.Model.Backbone} from scratch, {config.Model.NumClasses} classes."
                : $"Model: {config.Model.Backbone} from {weights.Name} ({weights.Provenance}), {config.Model.NumClasses} classes.");
        }
        using var _ = model;
        using var data = options.Data is { } own ? Checked(own(config, preprocessing), config)
            : new TrainingDataFactory(dist.Rank, dist.WorldSize, split).Open(config, preprocessing);
        // A checkpoint's head fits only its own classes, which are known once the data is open.
        bool headTrained = false;
        if (startingCheckpoint is not null)
        {
            (var line, headTrained) = startingCheckpoint.FitHead(model, data.ClassNames, config.Data.Seed);
            log.WriteLine(line);
            startingCheckpoint.EnsureSomethingTrains(config, data.ClassNames); // data not from a folder: its classes are known only now
        }
        model.to(device);
        dist.BroadcastState(model); // every rank starts from rank 0's weights
        using var syncBatchNorm = dist.IsDistributed && config.Training.SyncBatchNorm ? SyncBatchNorm.Convert(model, dist.Comm) : null;
        log.WriteLine($"Data: {data.Train.ImageCount} training and {data.Val.ImageCount} validation images in {data.ClassNames.Count} classes; batch {config.Data.BatchSize}; device {device}{(dist.IsDistributed ? $"; {dist.WorldSize} ranks, batch {config.Data.BatchSize} each" : "")}.");

        // Other ranks only warn (a file they could not read); their lines and progress would repeat the main rank's.
        var progress = dist.IsMain ? new ProgressReporter(console, options.Progress, console) : new ProgressReporter(TextWriter.Null, warnings: console);
        var start = new ModelToTrain(model, preprocessing) { StartingWeights = startingCheckpoint?.Provenance, HeadTrained = headTrained };
        var run = new RunContext(progress)
        {
            Stop = cancellationToken,
            StopReason = options.StopReason,
            Collective = dist.IsDistributed ? dist : null,
            Device = device,
            EpochDeadline = options.EpochDeadline,
            EvalEngine = OnnxRuntimeEngine.For(config.Training.EvalEngine, dist.IsMain ? log.WriteLine : null),
        };
        var result = new Trainer(config, start, data, run).Run(resume);
        if (dist.IsMain) WriteRunSummary(config, result, log);
        // Every outcome is agreed by all ranks (a stop, a diverged loss), so all of them leave MPI together; a rank
        // that throws skips this and exits non-zero, which makes mpirun end the whole job.
        dist.Finish();
        return result;
    }

    /// <summary>
    /// Data of the caller's own (<see cref="TrainOptions.Data"/>) checked against the config: the config's own folder was
    /// checked when its split was prepared, and synthetic data is drawn with the config's class count.
    /// </summary>
    static TrainingData Checked(TrainingData data, FineTuneConfig config)
    {
        if (data.ClassNames.Count == config.Model.NumClasses) return data;
        data.Dispose();
        throw new ConfigException($"{config.Source}: model.num_classes is {config.Model.NumClasses}, but the dataset has {data.ClassNames.Count} classes: set model.num_classes: {data.ClassNames.Count}.");
    }

    /// <summary>
    /// The seed's `&lt;name&gt;_curves.png` and a results.json (best epoch, accuracies, history) beside the
    /// checkpoints: <see cref="Test"/> adds the test accuracy, the comparison collects them.
    /// </summary>
    static void WriteRunSummary(FineTuneConfig config, TrainingResult result, TextWriter log)
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
        log.WriteLine($"Curves: {curves}; results: {Path.Combine(folder, ResultsFile.FileName)}");
    }
}
