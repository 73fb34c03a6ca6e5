using System.Diagnostics;
using FineTune.Logging;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Training.TensorBoard;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Training;

// The linear probe before epoch 1 (training.linear_probe_epochs), and the pass that feeds it from the activation cache.
public sealed partial class Trainer
{
    /// <summary>
    /// The head trained alone on the frozen backbone's features before fine-tuning (training.linear_probe_epochs, see
    /// <see cref="LinearProbe"/>). Null when a stop came during it.
    /// </summary>
    LinearProbe.Outcome? RunLinearProbe(EventWriter? events)
    {
        // With epochs after it, the probe must not learn from the validation images they validate on: only the fit that
        // ends the run refits with them (a probe-only run's, or RefitHead's).
        var linearProbe = new LinearProbe(model, _t, progress, collective, _device, run.EvalEngine, _t.ProbeMirrored(config.Data))
        {
            RefitWithVal = _t.LinearProbeRefitWithVal && _t.NumEpochs == 0,
        };
        var source = _t.LinearProbeFromCache ? data.Train : data.TrainUnaugmented ?? data.Train;
        // training.linear_probe_validate: false saves a pass over the validation images when epoch 1 will validate anyway.
        var val = _t.ScoresLinearProbe ? data.Val : null;
        LinearProbe.Outcome? probe;
        if (_t.LinearProbeFromCache)
        {
            var clock = Stopwatch.StartNew();
            var views = ViewFeatures();
            if (StopRequested()) { views?.Dispose(); return null; }
            using (views)
                probe = linearProbe.RunOn(views!.Features, views.Labels, val, config.Data.Seed, clock.Elapsed, run.Stop, StopRequested);
        }
        else probe = linearProbe.Run(source, val, config.Data.Seed, run.Stop, StopRequested);
        if (probe is null) return null;
        ReportUnreadable(source, replaced: true);
        progress.Line(probe.ToString());
        events?.AddScalar("probe/train_accuracy", probe.TrainAccuracy, 0);
        if (!double.IsNaN(probe.ValAccuracy)) events?.AddScalar("probe/val_accuracy", probe.ValAccuracy, 0);
        return probe;
    }

    /// <summary>
    /// training.linear_probe_from_cache: one pass over epoch 1's views (the same crops and flips epoch 1 draws) that fills
    /// the activation cache with the frozen stages' output and carries each batch on through the pretrained rest of the
    /// network to the pooled features the probe trains on. Epoch 1 then replays from the cache like every later epoch,
    /// so the images are loaded and decoded once for the whole run. Null when stopped mid-pass.
    /// </summary>
    LinearProbe.FeatureSet? ViewFeatures()
    {
        random.manual_seed(config.Data.Seed * 1000L + 1); // epoch 1's seed: its augmentations, as its own loop would draw them
        SetBackboneTrainable(1 > _t.FreezeBackboneEpochs);
        model.eval(); // the frozen stages' BatchNorm is in eval mode in training too; the pretrained rest gives evaluation features
        int first = TrainingStep.FirstTrained(_t.FreezeStages);
        var order = _activations is { Refusal: null } ? data.Train.BatchIndices(1) : null;
        var features = new List<Tensor>();
        var labels = new List<Tensor>();
        progress.StartPhase(ProgressPhase.Features, "Linear probe: features (epoch 1's views, filling the activation cache)", data.Train.BatchCount);
        var clock = Stopwatch.StartNew();
        long seen = 0;
        int b = 0;
        try
        {
            foreach (var batch in data.Train.Epoch(1))
            {
                using (batch)
                {
                    if (run.Stop.IsCancellationRequested) return null;
                    using var scope = NewDisposeScope();
                    // Computed as a training step computes it (autograd on, so BatchNorm is not folded; nothing here needs
                    // gradients), so the cached rows are exactly what epoch 1 would have had.
                    var prefix = model.Stages(ChannelsLast.Input(batch.Images, _device, _t.ChannelsLast, model.Routing), 0, first);
                    if (order is not null) _activations!.Add(order[b], batch.Indices, prefix, batch.Labels);
                    using (no_grad())
                        features.Add(model.Features(prefix, first).MoveToOuterDisposeScope());
                    labels.Add(batch.Labels.to(_device).MoveToOuterDisposeScope());
                    seen += batch.Count;
                }
                progress.Step(++b, double.NaN, double.NaN, seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b);
            }
            if (order is not null) SealActivations();
            return features.Count > 0 ? new LinearProbe.FeatureSet(cat(features, 0), cat(labels, 0)) : new LinearProbe.FeatureSet(empty(0, model.Head.weight!.shape[1]), empty(0, dtype: int64));
        }
        finally
        {
            foreach (var f in features) f.Dispose();
            foreach (var l in labels) l.Dispose();
        }
    }

    /// <summary>
    /// training.refit_head, after the last epoch: the head fitted again from zero, as the probe fits it, on the fine-tuned
    /// backbone's features of the unaugmented training images at the evaluation size, and scored on validation. The epochs
    /// trained the head on augmented crops at data.image_size while evaluation sees whole photos at eval_image_size; a head
    /// fitted on what evaluation sees removes that mismatch (FixRes, Touvron et al. 2019). The refitted model becomes
    /// checkpoint_best when its (held-out) validation accuracy beats the best epoch's; with linear_probe_refit_with_val the
    /// head kept is then the fit on training + validation features. The model in memory keeps the refitted head either way.
    /// </summary>
    void RefitHead(EventWriter? events, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        int epoch = _state.EpochsDone;
        double before = _state.BestValAccuracy;
        var refit = new LinearProbe(model, _t, progress, collective, _device, run.EvalEngine, _t.ProbeMirrored(config.Data))
        {
            Label = "Head refit",
            ValFlipAverage = config.Data.Augmentation.EvalFlip, // scored as the epochs were, so the two figures compare
        };
        var source = data.TrainUnaugmented ?? data.Train;
        LinearProbe.Outcome? outcome;
        using (var valFeatures = _valFeatures)
        {
            _valFeatures = null;
            outcome = refit.Run(source, data.Val, config.Data.Seed, run.Stop, StopRequested, valFeatures);
        }
        if (outcome is null)
        {
            progress.Line($"Stopped by {_stopReason} during the head refit (training.refit_head); checkpoint_best is the best epoch's, as it was.");
            return;
        }
        ReportUnreadable(source, replaced: true);
        progress.Line(outcome.ToString());
        events?.AddScalar("refit/val_accuracy", outcome.ValAccuracy, epoch);
        bool improved = _state.Validated(epoch, outcome.ValAccuracy);
        if (improved && IsMain) SaveBest(optimizer, schedule);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        progress.Line(improved
            ? string.Create(inv, $"The refitted head scored {outcome.ValAccuracy * 100:0.00}% on validation against the best epoch's {before * 100:0.00}%: checkpoint_best is now epoch {epoch}'s backbone with the refitted head.")
            : string.Create(inv, $"The refitted head scored {outcome.ValAccuracy * 100:0.00}% on validation, not above the best epoch's {before * 100:0.00}%: checkpoint_best stays as it was."));
    }

    /// <summary>
    /// A probe-only run (training.num_epochs: 0): the probed model is the result, kept as epoch 0 of the history and
    /// saved as checkpoint_best, so `test`, `export`, `predict` and `compare` take it like any trained model.
    /// </summary>
    void KeepProbe(LinearProbe.Outcome probe, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        var record = new EpochRecord(0, probe.TrainLoss, probe.TrainAccuracy, probe.ValLoss, probe.ValAccuracy, [0, _t.LinearProbeLr],
            (probe.FeatureTime + probe.FitTime).TotalSeconds);
        _state.Validated(0, probe.ValAccuracy);
        _state.Completed(record);
        if (IsMain) SaveCheckpoints(0, improved: true, earlyStop: false, optimizer, schedule);
        progress.Line("training.num_epochs is 0: the linear probe's model is the result (checkpoint_best, epoch 0).");
    }
}
