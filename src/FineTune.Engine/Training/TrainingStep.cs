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
/// <param name="frozenStages">training.freeze_stages: the stem and this many stages have fixed weights and BatchNorm statistics
/// (the trainer sees to both), so their output (<see cref="Prefix"/>) is a pure function of the image, which an activation
/// cache can keep (training.cache_activations). Gradients flow from the first trained stage on, as before.</param>
public sealed class TrainingStep(ResNet model, OptimizerHelper optimizer, ITrainingCollective? collective, double labelSmoothing = 0, double gradClip = 0,
    int frozenStages = 0)
{
    readonly List<Parameter> _parameters = model.parameters().ToList();

    /// <summary>Where the trained part of the network starts, in <see cref="ResNet.Stages"/>' numbering: 0 when nothing is frozen.</summary>
    public int FirstTrainedStage { get; } = FirstTrained(frozenStages);

    /// <summary>The first trained stage when the stem and <paramref name="frozenStages"/> stages are frozen (0: none frozen).</summary>
    public static int FirstTrained(int frozenStages) => frozenStages == 0 ? 0 : frozenStages + 1;

    /// <summary>
    /// The frozen stages' output for <paramref name="images"/> (the images themselves when nothing is frozen). Autograd records
    /// nothing here, since neither the images nor the frozen weights need gradients. Not folded as evaluation is
    /// (<see cref="ConvBatchNorm"/>): measured on the pretrained ResNet-18 with channels-last, the folded prefix agreed with
    /// this one within 2.4e-6, yet the trained stages' gradients from it moved by 1-25% of the largest, differently in each
    /// process, while a random perturbation of the same size moved them by 3e-6 (NCHW: 6e-6 either way); until that is
    /// understood, training computes its frozen stages exactly as before.
    /// </summary>
    public Tensor Prefix(Tensor images) => FirstTrainedStage == 0 ? images.alias() : model.Stages(images, 0, FirstTrainedStage);

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
        using var prefix = Prefix(images);
        return TakeFrom(prefix, labels, acceptLoss);
    }

    /// <summary><see cref="Take"/> on a batch whose frozen stages already ran: <paramref name="prefix"/> is their output (<see cref="Prefix"/>).</summary>
    public Outcome? TakeFrom(Tensor prefix, Tensor labels, Func<double, bool>? acceptLoss = null)
    {
        optimizer.zero_grad();
        var logits = FirstTrainedStage == 0 ? model.call(prefix) : model.Logits(model.Stages(prefix, FirstTrainedStage, ResNet.StageCount));
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
