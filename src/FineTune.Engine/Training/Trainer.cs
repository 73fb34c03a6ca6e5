using FineTune.IO;
using FineTune.Evaluation;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FineTune.Config;
using FineTune.Models;
using FineTune.Training.Checkpoints;
using FineTune.Export;
using FineTune.Data;
using FineTune.Training.Memory;
using FineTune.Training.TensorBoard;
using FineTune.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// The seed's train.py as a class: for each epoch, train one pass, evaluate on validation, step the scheduler,
/// keep checkpoint_best when validation improves, save the checkpoints the policy asks for, stop early after
/// `early_stopping` epochs without improvement. It also resumes from a checkpoint to the same weights, stops
/// cleanly on a <see cref="StopSignal"/>, and stops on a NaN/Inf loss without touching the best checkpoint.
/// </summary>
public sealed class Trainer(
    FineTuneConfig config,
    ResNet model,
    TrainingData data,
    Preprocessing preprocessing,
    ProgressReporter progress,
    StopSignal? stop = null,
    ITrainingCollective? collective = null,
    Device? device = null)
{
    readonly TrainingConfig _t = config.Training;
    readonly StopSignal _stop = stop ?? new StopSignal();
    readonly Device _device = device ?? CPU;
    bool IsMain => collective is null || collective.Rank == 0;

    public CheckpointPolicy Policy { get; } = new(config.Experiment.RunCheckpointDir, config.Experiment.SaveBestOnly, config.Experiment.SaveEvery, config.Training.NumEpochs);

    // Where training stands; all of it goes into every checkpoint.
    int _epochsDone, _bestEpoch, _epochsWithoutImprovement;
    long _globalStep;
    double _bestValAccuracy = double.NegativeInfinity;
    PartialEpoch? _partial;
    readonly List<EpochRecord> _history = [];
    string? _bestPath, _lastPath;
    readonly MemoryTrace _memory = new();
    string MemoryCsv => Path.Combine(Policy.Folder, "memory.csv");

    public TrainingResult Run(CheckpointFile? resumeFrom = null)
    {
        var clock = Stopwatch.StartNew();
        if (data.ClassNames.Count != config.Model.NumClasses)
            throw new ConfigException($"{config.Source}: model.num_classes is {config.Model.NumClasses}, but the dataset has {data.ClassNames.Count} classes: set model.num_classes: {data.ClassNames.Count}.");
        if (IsMain)
        {
            OutputFolders.EnsureWritable(config.Experiment.RunCheckpointDir, "experiment.checkpoint_dir");
            OutputFolders.EnsureWritable(config.Experiment.RunLogDir, "experiment.log_dir");
        }
        if (_t.Threads > 0) set_num_threads(_t.Threads);
        // Training, validation and the probe's feature pass all run in the model's precision; parameters stay fp32.
        var precision = Precision.ForThisMachine(_t.Precision, onCpu: _device.type == DeviceType.CPU);
        model.Precision = precision.Precision;
        progress.Line(precision.ToString());
        if (precision.SlowerWarning is not null) progress.Line("Warning: " + precision.SlowerWarning);

        using var optimizer = OptimizerFactory.Create(_t, model);
        var schedule = new LearningRateSchedule(_t, data.Train.BatchCount);
        if (resumeFrom is not null) { Restore(resumeFrom, optimizer, schedule); _memory.Load(MemoryCsv, _globalStep); }

        using var events = IsMain ? new EventWriter(config.Experiment.RunLogDir) : null;
        if (resumeFrom is null) events?.AddText("config", "```yaml\n" + ConfigPrinter.ToYaml(config) + "```", 0);
        if (resumeFrom is null && _t.LinearProbeEpochs > 0)
        {
            var probe = new LinearProbe(model, _t, progress, collective, _device).Run(data.TrainUnaugmented ?? data.Train, data.Val, config.Data.Seed);
            ReportUnreadable(data.TrainUnaugmented ?? data.Train, replaced: true);
            progress.Line(probe.ToString());
            events?.AddScalar("probe/train_accuracy", probe.TrainAccuracy, 0);
            events?.AddScalar("probe/val_accuracy", probe.ValAccuracy, 0);
        }

        var outcome = TrainingOutcome.Completed;
        string message = "";
        for (int epoch = _epochsDone + 1; epoch <= _t.NumEpochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            // Augmentations drawing from torch's generator repeat per epoch, so a resumed run matches.
            random.manual_seed(config.Data.Seed * 1000L + epoch);
            SetBackboneTrainable(epoch > _t.FreezeBackboneEpochs);

            var train = TrainEpoch(epoch, optimizer, schedule, events);
            ReportUnreadable(data.Train, replaced: true);
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
            bool improved = valAccuracy > _bestValAccuracy;
            if (improved) { _bestValAccuracy = valAccuracy; _bestEpoch = epoch; _epochsWithoutImprovement = 0; }
            else _epochsWithoutImprovement++;
            bool earlyStop = _t.EarlyStopping > 0 && _epochsWithoutImprovement >= _t.EarlyStopping;

            _epochsDone = epoch;
            _partial = null;
            var rates = schedule.Rates(epoch, data.Train.BatchCount - 1);
            var record = new EpochRecord(epoch, train.Loss, train.Accuracy, valLoss, valAccuracy, rates, epochClock.Elapsed.TotalSeconds);
            _history.Add(record);
            LogEpoch(events, record);
            progress.Line(Summary(record, improved));

            if (IsMain)
            {
                if (improved) SaveBest(optimizer, schedule);
                if (Policy.SavesEpoch(epoch, earlyStop)) _lastPath = Save(Policy.EpochPath(epoch), earlyStop ? "early_stop" : "epoch", optimizer, schedule);
                AtomicWrite.Text(Path.Combine(Policy.Folder, "history.json"), JsonSerializer.Serialize(_history, CheckpointFile.Json));
            }
            TraceMemory(events, _memory.AtEpochEnd(_globalStep, epoch));
            if (IsMain && _memory.Samples.Count > 0) _memory.Save(MemoryCsv);
            if (earlyStop)
            {
                outcome = TrainingOutcome.EarlyStopped;
                message = $"Early stop after epoch {epoch}: validation accuracy has not improved for {_epochsWithoutImprovement} epochs (training.early_stopping: {_t.EarlyStopping}).";
                break;
            }
            if (StopRequested() && epoch < _t.NumEpochs)
            {
                outcome = TrainingOutcome.Interrupted;
                message = SaveInterrupted(epoch, null, optimizer, schedule);
                break;
            }
        }

        if (events is not null)
        {
            events.AddHParams(HParams(), new Dictionary<string, double>
            {
                ["hparam/best_val_accuracy"] = Math.Max(0, _bestValAccuracy),
                ["hparam/best_epoch"] = _bestEpoch,
            });
            events.Flush();
        }
        var result = new TrainingResult(outcome, message, _epochsDone, _bestEpoch, Math.Max(0, _bestValAccuracy),
            _bestPath ?? (File.Exists(Policy.BestPath) ? Policy.BestPath : null), _lastPath, _history, clock.Elapsed);
        if (message.Length > 0) progress.Line(message);
        if (_memory.Growth() is { } growth) progress.Line(growth.ToString());
        progress.Line(_bestEpoch > 0
            ? string.Create(CultureInfo.InvariantCulture, $"Total time {ProgressReporter.Clock(clock.Elapsed)}; best epoch {_bestEpoch} with validation accuracy {_bestValAccuracy * 100:0.00}% ({result.BestCheckpoint}).")
            : $"Total time {ProgressReporter.Clock(clock.Elapsed)}; no epoch finished.");
        return result;
    }

    enum PhaseStop { None, Interrupted, Diverged }

    sealed record PhaseResult(double Loss, double Accuracy, PhaseStop Stop, PartialEpoch? Partial, string Message);

    PhaseResult TrainEpoch(int epoch, OptimizerHelper optimizer, LearningRateSchedule schedule, EventWriter? events)
    {
        model.train();
        FreezeBatchNormStatistics();
        var parameters = model.parameters().ToList();
        int start = _partial?.BatchesDone ?? 0;
        double lossSum = _partial?.LossSum ?? 0;
        long correct = _partial?.Correct ?? 0, seen = _partial?.Seen ?? 0, seenThisSession = 0;
        var clock = Stopwatch.StartNew();
        progress.StartPhase($"Epoch {epoch}/{_t.NumEpochs} train", data.Train.BatchCount);

        using var batches = data.Train.Epoch(epoch, start).GetEnumerator();
        for (int b = start; ; b++)
        {
            // A stop request lets the step in flight finish; it is honoured before the next one starts.
            if (StopRequested() && b < data.Train.BatchCount)
                return new PhaseResult(0, 0, PhaseStop.Interrupted, new PartialEpoch(b, lossSum, correct, seen), "");
            using var scope = NewDisposeScope();
            if (!batches.MoveNext()) break;
            using var batch = batches.Current;
            var images = ChannelsLast.Input(batch.Images, _device, _t.ChannelsLast);
            var labels = batch.Labels.to(_device);

            var rates = schedule.Rates(epoch, b);
            OptimizerFactory.SetRates(optimizer, rates);
            optimizer.zero_grad();
            var logits = model.call(images);
            var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: _t.LabelSmoothing);
            double lossValue = loss.item<float>();
            // Every rank learns whether any rank's loss is non-finite before the gradient all-reduce, so all of them
            // stop after the same step instead of the healthy ones waiting in a collective the diverged one never joins.
            if (DivergedRanks(lossValue) is { Count: > 0 } diverged)
                return new PhaseResult(0, 0, PhaseStop.Diverged, null,
                    $"Training stopped: the loss became {diverged[0].What}{OnRanks(diverged)} at epoch {epoch}, step {b + 1} (learning rates {string.Join("/", rates.Select(r => r.ToString("0.##e0", CultureInfo.InvariantCulture)))}). " +
                    $"Lower training.base_lr or set training.grad_clip; the best checkpoint so far is kept{(File.Exists(Policy.BestPath) ? $" ({Policy.BestPath})" : "")}.");
            loss.backward();
            collective?.AverageGradients(parameters);
            // Clip the averaged gradient, as DDP does (clip_grad_norm_ after backward's all-reduce): clipping each
            // rank's own gradient first would give another update than one process at the global batch.
            if (_t.GradClip > 0) nn.utils.clip_grad_norm_(parameters.Where(p => p.requires_grad), _t.GradClip);
            optimizer.step();

            long n = batch.Count;
            long hits = logits.argmax(1).eq(labels).sum().item<long>();
            lossSum += lossValue * n; correct += hits; seen += n; seenThisSession += n;
            _globalStep++;
            events?.AddScalar("train/loss", lossValue, _globalStep);
            events?.AddScalar("train/accuracy", (double)hits / n, _globalStep);
            TraceMemory(events, _memory.AfterStep(_globalStep, epoch));
            progress.Step(b + 1, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen),
                seenThisSession / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b + 1 - start);
        }
        var totals = Reduce([lossSum, correct, seen]);
        return new PhaseResult(totals[0] / Math.Max(1, totals[2]), totals[1] / Math.Max(1, totals[2]), PhaseStop.None, null, "");
    }

    /// <summary>Validation loss and accuracy with the model in eval mode (BatchNorm uses its running statistics).</summary>
    (double Loss, double Accuracy) Evaluate(int epoch)
    {
        model.eval();
        double lossSum = 0; long correct = 0, seen = 0;
        var clock = Stopwatch.StartNew();
        progress.StartPhase($"Epoch {epoch}/{_t.NumEpochs} val  ", data.Val.BatchCount);
        using (no_grad())
        {
            int b = 0;
            foreach (var batch in data.Val.Epoch(epoch))
            {
                using var scope = NewDisposeScope();
                using var _ = batch;
                var labels = batch.Labels.to(_device);
                var logits = model.call(ChannelsLast.Input(batch.Images, _device, _t.ChannelsLast));
                lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(labels).sum().item<long>();
                seen += batch.Count;
                b++;
                progress.Step(b, lossSum / seen, (double)correct / seen, seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b);
            }
        }
        var totals = Reduce([lossSum, correct, seen]);
        return (totals[0] / Math.Max(1, totals[2]), totals[1] / Math.Max(1, totals[2]));
    }

    /// <summary>
    /// BatchNorm in eval mode inside a training model (running statistics used and kept): all of it with
    /// freeze_batchnorm (affine parameters still learn), else only in the frozen stages.
    /// </summary>
    void FreezeBatchNormStatistics()
    {
        var scope = _t.FreezeBatchNorm ? [model] : model.EarlyModules(_t.FreezeStages);
        foreach (var part in scope)
            foreach (var module in part.modules().Prepend(part))
                if (module is BatchNorm2d) module.eval();
    }

    static void TraceMemory(EventWriter? events, MemoryTrace.Sample? sample)
    {
        if (sample is not null) events?.AddScalar("memory/rss_mib", sample.ResidentBytes / 1048576.0, sample.Step);
    }

    double[] Reduce(double[] values) => collective is null ? values : collective.Sum(values);

    /// <summary>
    /// The ranks whose loss of this step is not finite (NaN or Inf), the same list on every rank: one all-reduce of a
    /// flag per rank each step (every rank calls this in lockstep). Empty when all are finite.
    /// </summary>
    List<(int Rank, string What)> DivergedRanks(double lossValue)
    {
        double flag = double.IsNaN(lossValue) ? 1 : double.IsInfinity(lossValue) ? 2 : 0;
        if (collective is null) return flag == 0 ? [] : [(0, flag == 1 ? "NaN" : "Inf")];
        var flags = new double[collective.WorldSize];
        flags[collective.Rank] = flag;
        var all = collective.Sum(flags);
        return all.Select((f, r) => (Rank: r, What: f == 1 ? "NaN" : "Inf")).Where((_, r) => all[r] != 0).ToList();
    }

    string OnRanks(List<(int Rank, string What)> diverged) =>
        collective is null ? "" : $" on rank{(diverged.Count > 1 ? "s" : "")} {string.Join(", ", diverged.Select(d => d.Rank))} of {collective.WorldSize}";

    /// <summary>
    /// A stop on any rank stops every rank after the same step (every rank calls this in lockstep). When the ranks
    /// stop, they also agree on why (the signal one of them got), so every rank reports it and exits with its code.
    /// </summary>
    bool StopRequested()
    {
        if (collective is null) return _stop.Requested;
        if (!collective.AnyRank(_stop.Requested)) return false;
        var codes = new double[StopSignal.Codes];
        if (_stop.Code > 0) codes[_stop.Code - 1] = 1;
        var all = collective.Sum(codes);
        int agreed = Array.FindIndex(all, c => c > 0) + 1;
        if (_stop.Reason is null) _stop.Request(StopSignal.FromCode(agreed));
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
            else Console.Error.WriteLine($"finetune: rank {collective!.Rank} of {collective.WorldSize}: {line}");
        }
    }

    readonly HashSet<string> _reportedUnreadable = new(StringComparer.Ordinal);

    /// <summary>A frozen backbone gets no gradients (so no backward through it) and, via the schedule, a zero rate.</summary>
    void SetBackboneTrainable(bool trainable)
    {
        foreach (var p in model.BackboneParameters()) p.requires_grad = trainable;
        foreach (var frozen in model.EarlyModules(_t.FreezeStages))
            foreach (var p in frozen.parameters()) p.requires_grad = false;
    }

    void Restore(CheckpointFile checkpoint, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        var info = checkpoint.Info;
        checkpoint.EnsureMatches(config.Model.Backbone, config.Model.NumClasses, $"the config {config.Source}");
        if (!info.ClassNames.SequenceEqual(data.ClassNames))
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was trained on other classes than the dataset at {config.Data.DataDir}: resume with the same data.");
        if (info.SplitManifestHash != data.SplitManifestHash)
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was trained on another train/val split (data.seed or sizes changed): resume with the same data settings.");
        if (!string.Equals(info.Optimizer, _t.Optimizer.ToString(), StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was trained with optimizer {info.Optimizer}: set training.optimizer: {info.Optimizer.ToLowerInvariant()} to resume it.");
        checkpoint.LoadModelInto(model);
        checkpoint.LoadOptimizerInto(optimizer);
        schedule.State = info.Scheduler;
        _epochsDone = info.Epoch;
        _partial = info.Partial;
        int world = collective?.WorldSize ?? 1;
        if (_partial is not null && info.WorldSize != world)
        {
            // Each rank's step count within the epoch depends on the number of ranks: restart that epoch whole.
            progress.Line($"The checkpoint stopped inside epoch {info.Epoch + 1} with {info.WorldSize} process(es); this run has {world}, so that epoch starts again from its first step.");
            _partial = null;
        }
        _globalStep = info.GlobalStep;
        _bestValAccuracy = info.BestEpoch > 0 ? info.BestValAccuracy : double.NegativeInfinity;
        _bestEpoch = info.BestEpoch;
        _epochsWithoutImprovement = info.EpochsWithoutImprovement;
        _history.AddRange(info.History);
        progress.Line(_partial is null
            ? string.Create(CultureInfo.InvariantCulture, $"Resuming from {checkpoint.Path}: {info.Epoch} epoch(s) done, best validation accuracy {Math.Max(0, info.BestValAccuracy) * 100:0.00}% at epoch {info.BestEpoch}.")
            : $"Resuming from {checkpoint.Path}: epoch {info.Epoch + 1} at step {_partial.BatchesDone + 1}.");
        if (info.Epoch >= _t.NumEpochs && info.Partial is null)
            progress.Line($"Nothing to do: the checkpoint has all {_t.NumEpochs} epochs of training.num_epochs; raise it to train longer.");
    }

    CheckpointInfo Snapshot(string reason, LearningRateSchedule schedule) => new()
    {
        Reason = reason,
        Epoch = _epochsDone,
        Partial = _partial,
        GlobalStep = _globalStep,
        WorldSize = collective?.WorldSize ?? 1,
        Backbone = config.Model.Backbone,
        Block = model.Architecture.Block,
        Layers = model.Architecture.Layers,
        NumClasses = model.NumClasses,
        Optimizer = _t.Optimizer.ToString(),
        BestValAccuracy = Math.Max(0, _bestValAccuracy),
        BestEpoch = _bestEpoch,
        EpochsWithoutImprovement = _epochsWithoutImprovement,
        Scheduler = schedule.State,
        ConfigYaml = ConfigPrinter.ToYaml(config),
        ClassNames = [.. data.ClassNames],
        Preprocessing = preprocessing,
        SplitManifestHash = data.SplitManifestHash,
        History = [.. _history],
    };

    string Save(string path, string reason, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        CheckpointFile.Save(path, Snapshot(reason, schedule), model, optimizer);
        return path;
    }

    void SaveBest(OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        _bestPath = Save(Policy.BestPath, "best", optimizer, schedule);
        if (!config.Experiment.ExportPytorch) return;
        PyTorchExport.Save(model, Policy.BestPthPath);
        // Its JSON beside it: the .pth alone does not say the architecture, the preprocessing or the classes.
        PyTorchManifest.Save(ExportSource.FromInfo(Snapshot("best", schedule), Path.GetFileName(Policy.BestPath)), Policy.BestPthPath, PyTorchManifest.PathFor(Policy.BestPthPath));
    }

    string SaveInterrupted(int epochsDone, PartialEpoch? partial, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        _epochsDone = epochsDone;
        _partial = partial;
        if (!IsMain) return "";
        _lastPath = Save(Policy.InterruptedPath, "interrupted", optimizer, schedule);
        var where = partial is null ? $"after epoch {epochsDone}" : $"in epoch {epochsDone + 1} after step {partial.BatchesDone}";
        return $"Stopped by {_stop.Reason} {where}; resume with: finetune train --config {config.Source} --resume {_lastPath}";
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
