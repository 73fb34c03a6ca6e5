using FineTune.Logging;
using System.Diagnostics;
using FineTune.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Training;

// The seed's evaluate: validation after each epoch, through the one evaluation loop (EvalPass).
public sealed partial class Trainer
{
    /// <summary>
    /// Validation loss (plain cross-entropy: no label smoothing, so epochs and runs compare) and accuracy over all ranks'
    /// images, with BatchNorm on its running statistics.
    /// </summary>
    /// <remarks>
    /// The last planned epoch of a run with training.refit_head also keeps the validation images' pooled features in
    /// <see cref="_valFeatures"/> (logits = the head on them, the same function), so the refit scores on them without a
    /// second pass over the images (it scores with validation's mirror setting, whatever its training features use).
    /// </remarks>
    (double Loss, double Accuracy) Evaluate(int epoch)
    {
        double lossSum = 0; long correct = 0, seen = 0;
        int b = 0;
        var clock = Stopwatch.StartNew();
        bool keep = _t.RefitHead && epoch == _t.NumEpochs;
        var kept = new List<Tensor>();
        var keptLabels = new List<Tensor>();
        progress.StartPhase(ProgressPhase.Validation, $"Epoch {epoch}/{_t.NumEpochs} val  ", data.Val.BatchCount);
        new EvalPass(model, _device, _t.ChannelsLast, keep ? EvalOutput.Features : EvalOutput.Logits) { Engine = run.EvalEngine, FlipAverage = config.Data.Augmentation.EvalFlip }.Run(data.Val.Epoch(epoch), (batch, outputs) =>
        {
            var logits = outputs;
            if (keep)
            {
                kept.Add(outputs.MoveToOuterDisposeScope());
                keptLabels.Add(batch.Labels.to(_device).MoveToOuterDisposeScope());
                logits = model.Head.call(outputs);
            }
            var labels = batch.Labels.to(_device);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            seen += batch.Count;
            b++;
            progress.Step(b, lossSum / seen, (double)correct / seen, seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b);
        });
        if (keep)
        {
            _valFeatures?.Dispose();
            _valFeatures = kept.Count > 0 ? new LinearProbe.FeatureSet(cat(kept, 0), cat(keptLabels, 0)) : null;
            foreach (var t in kept.Concat(keptLabels)) t.Dispose();
        }
        var totals = Reduce([lossSum, correct, seen]);
        return (totals[0] / Math.Max(1, totals[2]), totals[1] / Math.Max(1, totals[2]));
    }
}
