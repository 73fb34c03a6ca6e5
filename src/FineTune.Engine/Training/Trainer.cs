using FineTune.Evaluation;
using System.Diagnostics;
using System.Globalization;
using FineTune.Config;
using FineTune.Models;
using FineTune.Training.Checkpoints;
using FineTune.Data;
using FineTune.Training.Memory;
using FineTune.Training.TensorBoard;
using FineTune.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// The seed's train.py as a class: for each epoch, train one pass (<see cref="TrainOneEpoch"/>), evaluate on
/// validation (<see cref="Evaluate"/>), step the scheduler,
/// keep checkpoint_best when validation improves, save the checkpoints the policy asks for, stop early after
/// `early_stopping` epochs without improvement. It also resumes from a checkpoint to the same weights, stops
/// cleanly when its <see cref="RunContext.Stop"/> is cancelled, and stops on a NaN/Inf loss without touching the best checkpoint.
/// </summary>
public sealed partial class Trainer(FineTuneConfig config, ModelToTrain start, TrainingData data, RunContext run)
{
    // This file is the loop over epochs; the epoch (Trainer.TrainOneEpoch.cs), the evaluation (Trainer.Evaluate.cs) and
    // the checkpoints (Trainer.Checkpoints.cs) each have their own.
    readonly TrainingConfig _t = config.Training;
    readonly ResNet model = start.Network;
    readonly Preprocessing preprocessing = start.Preprocessing;
    readonly ProgressReporter progress = run.Progress;
    readonly ITrainingCollective? collective = run.Collective;
    readonly Device _device = run.Device;
    /// <summary>Why training stopped, once it has (<see cref="RunContext.StopReason"/> names a cancelled token; ranks agree on it).</summary>
    string? _stopReason;
    bool IsMain => collective is null || collective.Rank == 0;
    /// <summary>Where training started, for the checkpoints: <see cref="ModelToTrain.StartingWeights"/>, or a resumed checkpoint's.</summary>
    string? _startingWeights = start.StartingWeights;

    public CheckpointPolicy Policy { get; } = new(config.Experiment.RunCheckpointDir, config.Experiment.SaveBestOnly, config.Experiment.SaveEvery, config.Training.NumEpochs);

    // Where training stands; all of it goes into every checkpoint (a resume replaces it with the checkpoint's).
    TrainingState _state = new();
    /// <summary>training.cache_activations' rows for this run; null when it is off (or the data cannot list its batches ahead).</summary>
    ActivationCache? _activations;
    /// <summary>The last epoch's validation features, kept for training.refit_head (see <see cref="Evaluate"/>); null otherwise.</summary>
    LinearProbe.FeatureSet? _valFeatures;
    bool _imageCacheNoted;
    string? _bestPath, _lastPath;
    readonly MemoryTrace _memory = new();
    string MemoryCsv => Path.Combine(Policy.Folder, "memory.csv");

    /// <summary>
    /// Trains for training.num_epochs (from where <paramref name="resumeFrom"/> stopped, when given): the seed's main loop of
    /// train_one_epoch, evaluate, scheduler step and checkpoint saving, with the early, interrupted and diverged ends.
    /// </summary>
    public TrainingResult Run(CheckpointFile? resumeFrom = null)
    {
        var clock = Stopwatch.StartNew();
        if (_t.Threads > 0) set_num_threads(_t.Threads);
        ChoosePrecision();

        using var optimizer = OptimizerFactory.Create(_t, model);
        var schedule = new LearningRateSchedule(_t, data.Train.BatchCount);
        if (resumeFrom is not null) { Restore(resumeFrom, optimizer, schedule); _memory.Load(MemoryCsv, _state.GlobalStep); }

        using var activations = _activations = _t.CacheActivations ? NewActivationCache() : null;
        using var events = IsMain ? new EventWriter(config.Experiment.RunLogDir) : null;
        if (resumeFrom is null) events?.AddText("config", "```yaml\n" + ConfigPrinter.ToYaml(config) + "```", 0);
        var outcome = TrainingOutcome.Completed;
        string message = "";
        if (resumeFrom is null && _t.LinearProbeEpochs > 0 && start.HeadTrained)
            progress.Line($"Linear probe skipped (training.linear_probe_epochs: {_t.LinearProbeEpochs}): the head came trained for these classes, and the probe would fit it again from zero.");
        else if (resumeFrom is null && _t.LinearProbeEpochs > 0)
        {
            var probe = RunLinearProbe(events);
            if (probe is null)
            {
                // Nothing trained yet, so nothing to save: a checkpoint would resume without the probe.
                outcome = TrainingOutcome.Interrupted;
                message = $"Stopped by {_stopReason} during the linear probe, before the first epoch; nothing was saved: run the same command again to start over.";
            }
            else if (_t.NumEpochs == 0) KeepProbe(probe, optimizer, schedule);
        }

        int epochsRun = 0;
        for (int epoch = _state.EpochsDone + 1; outcome == TrainingOutcome.Completed && epoch <= _t.NumEpochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            // Augmentations drawing from torch's generator repeat per epoch, so a resumed run matches.
            random.manual_seed(config.Data.Seed * 1000L + epoch);
            SetBackboneTrainable(epoch > _t.FreezeBackboneEpochs);

            var train = TrainOneEpoch(epoch, optimizer, schedule, events);
            ReportUnreadable(data.Train, replaced: true);
            if (!_imageCacheNoted && data.Train.CacheNote is { } cacheNote) { progress.Line(cacheNote); _imageCacheNoted = true; }
            if (train.Stop == PhaseStop.Diverged)
            {
                outcome = TrainingOutcome.Diverged;
                message = train.Message;
                break;
            }
            if (train.Stop == PhaseStop.Interrupted)
            {
                outcome = TrainingOutcome.Interrupted;
                message = SaveInterrupted(epoch - 1, train.Partial, optimizer, schedule);
                break;
            }

            collective?.SyncBuffers(model); // per-rank BatchNorm statistics: evaluate and save rank 0's, as DDP does
            var (valLoss, valAccuracy) = Evaluate(epoch);
            ReportUnreadable(data.Val, replaced: false);
            schedule.EndEpoch(valAccuracy);
            bool improved = _state.Validated(epoch, valAccuracy);
            bool earlyStop = _t.EarlyStopping > 0 && _state.EpochsWithoutImprovement >= _t.EarlyStopping;

            var rates = schedule.Rates(epoch, data.Train.BatchCount - 1);
            var record = new EpochRecord(epoch, train.Loss, train.Accuracy, valLoss, valAccuracy, rates, epochClock.Elapsed.TotalSeconds);
            _state.Completed(record);
            epochsRun++;
            LogEpoch(events, record);
            progress.Line(Summary(record, improved));

            if (IsMain) SaveCheckpoints(epoch, improved, earlyStop, optimizer, schedule);
            TraceMemory(events, _memory.AtEpochEnd(_state.GlobalStep, epoch));
            if (IsMain && _memory.Samples.Count > 0) _memory.Save(MemoryCsv);
            if (earlyStop)
            {
                outcome = TrainingOutcome.EarlyStopped;
                message = $"Early stop after epoch {epoch}: validation accuracy has not improved for {_state.EpochsWithoutImprovement} epochs (training.early_stopping: {_t.EarlyStopping}).";
                break;
            }
            if (StopRequested() && epoch < _t.NumEpochs)
            {
                outcome = TrainingOutcome.Interrupted;
                message = SaveInterrupted(epoch, null, optimizer, schedule);
                break;
            }
            if (collective is null && epoch < _t.NumEpochs && run.EpochDeadline is { } deadline && DateTime.UtcNow + epochClock.Elapsed > deadline)
            {
                outcome = TrainingOutcome.EarlyStopped;
                message = $"Stopped after epoch {epoch} of {_t.NumEpochs}: another epoch (~{ProgressReporter.Clock(epochClock.Elapsed)}) would end after the time budget's deadline.";
                break;
            }
        }

        // The head refit ends a run whose epochs ended as planned (or early by choice), not a stopped or diverged one.
        if (_t.RefitHead && epochsRun > 0 && outcome is TrainingOutcome.Completed or TrainingOutcome.EarlyStopped)
            RefitHead(events, optimizer, schedule);

        if (events is not null)
        {
            events.AddHParams(HParams(), new Dictionary<string, double>
            {
                ["hparam/best_val_accuracy"] = Math.Max(0, _state.BestValAccuracy),
                ["hparam/best_epoch"] = _state.BestEpoch,
            });
            events.Flush();
        }
        var result = new TrainingResult(outcome, message, _state.EpochsDone, _state.BestEpoch, Math.Max(0, _state.BestValAccuracy),
            _bestPath ?? (File.Exists(Policy.BestPath) ? Policy.BestPath : null), _lastPath, _state.History, clock.Elapsed)
        { StopReason = outcome == TrainingOutcome.Interrupted ? _stopReason : null };
        if (message.Length > 0) progress.Line(message);
        if (_memory.Growth() is { } growth) progress.Line(growth.ToString());
        progress.Line(_state.History.Count > 0
            ? string.Create(CultureInfo.InvariantCulture, $"Total time {ProgressReporter.Clock(clock.Elapsed)}; best epoch {_state.BestEpoch}{(_state.BestEpoch == 0 ? " (the linear probe)" : "")} with validation accuracy {_state.BestValAccuracy * 100:0.00}% ({result.BestCheckpoint}).")
            : $"Total time {ProgressReporter.Clock(clock.Elapsed)}; no epoch finished.");
        return result;
    }

    ActivationCache? NewActivationCache()
    {
        if (data.Train.BatchIndices(1) is not { } order)
        {
            progress.Line("training.cache_activations: this data source cannot list its batches ahead, so every epoch computes the frozen stages from the images.");
            return null;
        }
        return new ActivationCache(order.SelectMany(b => b).Distinct().Count(), run.ActivationCacheBytes);
    }

    /// <summary>Training, validation and the probe's feature pass all run in the model's precision; parameters stay fp32.</summary>
    void ChoosePrecision() => PrecisionSetup.Apply(model, _t.Precision, _device, progress.Line, agree: collective is null ? null : precision =>
    {
        // Rank 0's choice on every rank: `auto` reads each machine's CPU, and ranks must compute alike.
        var rank0 = (ComputePrecision)(int)collective.Sum([collective.Rank == 0 ? (double)precision.Precision : 0])[0];
        return rank0 == precision.Precision ? precision : new PrecisionChoice(rank0, $"rank 0's choice, for every rank (here: {precision.Reason})");
    });

    static void TraceMemory(EventWriter? events, MemoryTrace.Sample? sample)
    {
        if (sample is not null) events?.AddScalar("memory/rss_mib", sample.ResidentBytes / 1048576.0, sample.Step);
    }

    double[] Reduce(double[] values) => collective is null ? values : collective.Sum(values);

    /// <summary>
    /// A stop on any rank stops every rank after the same step (every rank calls this in lockstep). When the ranks
    /// stop, they also agree on why (the signal one of them got), so every rank reports it and exits with its code.
    /// </summary>
    bool StopRequested()
    {
        bool local = run.Stop.IsCancellationRequested;
        if (local) _stopReason ??= run.StopReason?.Invoke() ?? StopReason.Cancelled;
        if (collective is null) return local;
        if (!collective.AnyRank(local)) return false;
        var codes = new double[StopReason.Codes];
        int mine = StopReason.Code(local ? _stopReason : null);
        if (mine > 0) codes[mine - 1] = 1;
        var all = collective.Sum(codes);
        int agreed = Array.FindIndex(all, c => c > 0) + 1;
        _stopReason ??= StopReason.FromCode(agreed);
        return true;
    }

    /// <summary>
    /// Names, once per run, each file that failed to decode: the loader put another image of the same shard in its
    /// place (so every rank takes the same number of steps), and the user should know which files to fix.
    /// </summary>
    void ReportUnreadable(IBatchSource source, bool replaced)
    {
        foreach (var problem in source.Problems)
        {
            if (!_reportedUnreadable.Add(problem.RelativePath)) continue;
            var line = $"Unreadable image {problem.RelativePath} ({problem.Reason}): " +
                (replaced ? "another image of the same shard is used in its place" : "left out of validation") + "; fix or remove the file.";
            if (IsMain) progress.Line(line);
            else progress.Warning($"finetune: rank {collective!.Rank} of {collective.WorldSize}: {line}");
        }
    }

    readonly HashSet<string> _reportedUnreadable = new(StringComparer.Ordinal);

    string SaveInterrupted(int epochsDone, PartialEpoch? partial, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        _state.StoppedAt(epochsDone, partial);
        if (!IsMain) return "";
        _lastPath = Save(Policy.InterruptedPath, "interrupted", optimizer, schedule);
        var where = partial is null ? $"after epoch {epochsDone}" : $"in epoch {epochsDone + 1} after step {partial.BatchesDone}";
        return $"Stopped by {_stopReason} {where}; resume with: finetune train --config {config.Source} --resume {_lastPath}";
    }

    void LogEpoch(EventWriter? events, EpochRecord r)
    {
        if (events is null) return;
        events.AddScalar("val/epoch_loss", r.ValLoss, r.Epoch);
        events.AddScalar("val/epoch_accuracy", r.ValAccuracy, r.Epoch);
        events.AddScalar("epoch/train_loss", r.TrainLoss, r.Epoch);
        events.AddScalar("epoch/train_accuracy", r.TrainAccuracy, r.Epoch);
        events.AddScalar("epoch/val_loss", r.ValLoss, r.Epoch);
        events.AddScalar("epoch/val_accuracy", r.ValAccuracy, r.Epoch);
        events.AddScalar("lr/backbone", r.LearningRates![OptimizerFactory.BackboneGroup], r.Epoch);
        events.AddScalar("lr/classifier", r.LearningRates![OptimizerFactory.ClassifierGroup], r.Epoch);
        events.Flush();
    }

    string Summary(EpochRecord r, bool improved) => string.Create(CultureInfo.InvariantCulture,
        $"Epoch {r.Epoch}/{_t.NumEpochs}: train loss {r.TrainLoss:0.0000} acc {r.TrainAccuracy * 100:0.00}% | val loss {r.ValLoss:0.0000} acc {r.ValAccuracy * 100:0.00}% | " +
        $"lr {r.LearningRates![0]:0.##e0}/{r.LearningRates![1]:0.##e0} | {ProgressReporter.Clock(TimeSpan.FromSeconds(r.Seconds))}{(improved ? " | best" : "")}");

    Dictionary<string, object> HParams() => ConfigKeys.HParams(config, model.Precision.ToName()); // the run's precision, auto resolved
}
