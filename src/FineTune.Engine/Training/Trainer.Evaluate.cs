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
    (double Loss, double Accuracy) Evaluate(int epoch)
    {
        double lossSum = 0; long correct = 0, seen = 0;
        int b = 0;
        var clock = Stopwatch.StartNew();
        progress.StartPhase(ProgressPhase.Validation, $"Epoch {epoch}/{_t.NumEpochs} val  ", data.Val.BatchCount);
        new EvalPass(model, _device, _t.ChannelsLast) { Engine = run.EvalEngine, FlipAverage = config.Data.Augmentation.EvalFlip }.Run(data.Val.Epoch(epoch), (batch, logits) =>
        {
            var labels = batch.Labels.to(_device);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            seen += batch.Count;
            b++;
            progress.Step(b, lossSum / seen, (double)correct / seen, seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, b);
        });
        var totals = Reduce([lossSum, correct, seen]);
        return (totals[0] / Math.Max(1, totals[2]), totals[1] / Math.Max(1, totals[2]));
    }
}
