using FineTune.Logging;
using System.Diagnostics;
using System.Globalization;
using FineTune.Data;
using FineTune.Models;
using FineTune.Training.Checkpoints;
using FineTune.Training.TensorBoard;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Training;

// The seed's train_one_epoch, and what decides which parts of the model learn in it.
public sealed partial class Trainer
{
    /// <summary>Why an epoch ended before its last batch, if it did.</summary>
    enum PhaseStop { None, Interrupted, Diverged }

    /// <summary>An epoch's mean loss and accuracy, or why it stopped (with the sums so far when interrupted, for the checkpoint).</summary>
    sealed record PhaseResult(double Loss, double Accuracy, PhaseStop Stop, PartialEpoch? Partial, string Message);

    /// <summary>
    /// One pass over the training batches of <paramref name="epoch"/> (the seed's train_one_epoch): forward, loss,
    /// backward, gradients averaged over the ranks, clipped, one optimizer step per batch. It resumes inside the epoch
    /// from <see cref="TrainingState.Partial"/>, and ends early on a stop request (the step in flight finishes) or on
    /// a non-finite loss (before that step's update). The loss and accuracy it returns are over all ranks' images.
    /// </summary>
    PhaseResult TrainOneEpoch(int epoch, OptimizerHelper optimizer, LearningRateSchedule schedule, EventWriter? events)
    {
        model.train();
        FreezeBatchNormStatistics();
        var step = new TrainingStep(model, optimizer, collective, _t.LabelSmoothing, _t.GradClip, _t.FreezeStages);
        var partial = _state.Partial;
        int start = partial?.BatchesDone ?? 0;
        // The activation cache fills during a whole first epoch; a run resumed past that point refills it from epoch 1's views first.
        if (_activations is { Complete: false, Refusal: null } && (epoch > 1 || start > 0)) FillActivations(step);
        bool replay = _activations?.Complete == true;
        var filling = _activations is { Complete: false, Refusal: null } ? data.Train.BatchIndices(1) : null;
        double lossSum = partial?.LossSum ?? 0;
        long correct = partial?.Correct ?? 0, seen = partial?.Seen ?? 0, seenThisSession = 0;
        var clock = Stopwatch.StartNew();
        if (config.Data.SizeScheduleFor(preprocessing.InputSize, _t.NumEpochs) is { } sizes)
            progress.Line($"Epoch {epoch}/{_t.NumEpochs} trains at {sizes.For(epoch)} px (data.image_size_start: {sizes}).");
        progress.StartPhase(ProgressPhase.Training, $"Epoch {epoch}/{_t.NumEpochs} train", data.Train.BatchCount);

        using var batches = (replay ? Replayed(epoch, start) : data.Train.Epoch(epoch, start)).GetEnumerator();
        for (int b = start; ; b++)
        {
            // A stop request lets the step in flight finish; it is honoured before the next one starts.
            if (StopRequested() && b < data.Train.BatchCount)
                return new PhaseResult(0, 0, PhaseStop.Interrupted, new PartialEpoch(b, lossSum, correct, seen), "");
            using var scope = NewDisposeScope();
            if (!batches.MoveNext()) break;
            using var batch = batches.Current;
            var labels = batch.Labels.to(_device);
            // A replayed batch carries the frozen stages' output in place of images.
            var prefix = replay ? batch.Images : step.Prefix(ChannelsLast.Input(batch.Images, _device, _t.ChannelsLast, model.Routing));
            if (filling is not null) _activations!.Add(filling[b], batch.Indices, prefix, batch.Labels);

            var rates = schedule.Rates(epoch, b);
            OptimizerFactory.SetRates(optimizer, rates);
            // Every rank learns whether any rank's loss is non-finite before the gradient all-reduce, so all of them
            // stop after the same step instead of the healthy ones waiting in a collective the diverged one never joins.
            List<(int Rank, string What)> diverged = [];
            if (step.TakeFrom(prefix, labels, loss => (diverged = DivergedRanks(loss)).Count == 0) is not { } taken)
                return new PhaseResult(0, 0, PhaseStop.Diverged, null,
                    $"Training stopped: the loss became {diverged[0].What}{OnRanks(diverged)} at epoch {epoch}, step {b + 1} (learning rates {string.Join("/", rates.Select(r => r.ToString("0.##e0", CultureInfo.InvariantCulture)))}). " +
                    $"Lower training.base_lr or set training.grad_clip; the best checkpoint so far is kept{(File.Exists(Policy.BestPath) ? $" ({Policy.BestPath})" : "")}.");

            long n = batch.Count;
            var (lossValue, hits) = taken;
            lossSum += lossValue * n; correct += hits; seen += n; seenThisSession += n;
            _state.GlobalStep++;
            events?.AddScalar("train/loss", lossValue, _state.GlobalStep);
            events?.AddScalar("train/accuracy", (double)hits / n, _state.GlobalStep);
            TraceMemory(events, _memory.AfterStep(_state.GlobalStep, epoch));
            progress.Step(b + 1, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen),
                seenThisSession / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b + 1 - start);
        }
        if (filling is not null) SealActivations();
        var totals = Reduce([lossSum, correct, seen]);
        return new PhaseResult(totals[0] / Math.Max(1, totals[2]), totals[1] / Math.Max(1, totals[2]), PhaseStop.None, null, "");
    }

    /// <summary>An epoch's batches from the activation cache, in the order the data would have given them.</summary>
    IEnumerable<Batch> Replayed(int epoch, int skipBatches)
    {
        foreach (var indices in data.Train.BatchIndices(epoch)!.Skip(skipBatches))
        {
            var (prefix, labels) = _activations!.Batch(indices);
            yield return new Batch(prefix, labels, indices, []);
        }
    }

    /// <summary>A pass of the frozen stages alone over epoch 1's views, for a resumed run whose cache is empty.</summary>
    void FillActivations(TrainingStep step)
    {
        progress.Line("training.cache_activations: computing the frozen stages' output for epoch 1's views (a resumed run starts with an empty cache).");
        var order = data.Train.BatchIndices(1)!;
        int b = 0;
        foreach (var batch in data.Train.Epoch(1))
        {
            using var scope = NewDisposeScope();
            using (batch)
            {
                using var prefix = step.Prefix(ChannelsLast.Input(batch.Images, _device, _t.ChannelsLast, model.Routing));
                _activations!.Add(order[b++], batch.Indices, prefix, batch.Labels);
            }
            if (_activations!.Refusal is not null) break;
        }
        SealActivations();
    }

    void SealActivations()
    {
        var cache = _activations!;
        progress.Line(cache.Seal()
            ? $"training.cache_activations: the frozen stages' output for {cache.Count} training images (epoch 1's views) is kept in memory, {IO.AvailableMemory.Format(cache.Bytes)}; {(_t.LinearProbeFromCache ? "every epoch trains" : "the epochs after the first train")} from it."
            : cache.Refusal ?? "training.cache_activations: nothing was cached.");
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

    /// <summary>A frozen backbone gets no gradients (so no backward through it) and, via the schedule, a zero rate.</summary>
    void SetBackboneTrainable(bool trainable)
    {
        foreach (var p in model.BackboneParameters()) p.requires_grad = trainable;
        foreach (var frozen in model.EarlyModules(_t.FreezeStages))
            foreach (var p in frozen.parameters()) p.requires_grad = false;
    }

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
}
