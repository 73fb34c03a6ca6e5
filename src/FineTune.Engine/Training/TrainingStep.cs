using FineTune.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// One optimizer step on one batch, as the trainer takes it: forward, loss, backward, gradients averaged over the
/// ranks, clipped, update. `ddp-selftest` and `ddp-bench` take the same step, so what they check and time is training's.
/// </summary>
/// <param name="collective">The other ranks; null: one process.</param>
/// <param name="labelSmoothing">training.label_smoothing.</param>
/// <param name="gradClip">training.grad_clip: the averaged gradient's norm is clipped to it, as DDP does; 0: no clipping.</param>
public sealed class TrainingStep(ResNet model, OptimizerHelper optimizer, ITrainingCollective? collective, double labelSmoothing = 0, double gradClip = 0)
{
    readonly List<Parameter> _parameters = model.parameters().ToList();

    /// <summary>Runs after backward and before the gradients are averaged (`ddp-bench` times the wait for the slowest rank there).</summary>
    public Action? GradientsComputed { get; init; }

    /// <summary>A step's loss and how many of the batch's images it classified right (before the update).</summary>
    public readonly record struct Outcome(double Loss, long Correct);

    /// <summary>
    /// The step on <paramref name="images"/> (already on the model's device and layout); null when
    /// <paramref name="acceptLoss"/> refuses the loss, and then no backward and no update happen.
    /// </summary>
    public Outcome? Take(Tensor images, Tensor labels, Func<double, bool>? acceptLoss = null)
    {
        optimizer.zero_grad();
        var logits = model.call(images);
        var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: labelSmoothing);
        double lossValue = loss.ToDouble();
        if (acceptLoss?.Invoke(lossValue) == false) return null;
        loss.backward();
        GradientsComputed?.Invoke();
        collective?.AverageGradients(_parameters);
        // Clip the averaged gradient, as DDP does (clip_grad_norm_ after backward's all-reduce): clipping each
        // rank's own gradient first would give another update than one process at the global batch.
        if (gradClip > 0) nn.utils.clip_grad_norm_(_parameters.Where(p => p.requires_grad), gradClip);
        optimizer.step();
        return new Outcome(lossValue, logits.argmax(1).eq(labels).sum().item<long>());
    }
}
