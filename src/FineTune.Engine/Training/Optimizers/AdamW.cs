using FineTune.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Training.Optimizers;

/// <summary>
/// TorchSharp's AdamW, step for step the same arithmetic, with every number it hands libtorch held as a Scalar for the
/// whole native call. TorchSharp's own step writes <c>exp_avg.mul_(beta1).add_(grad, alpha: 1 - beta1)</c>: each
/// number becomes a fresh Scalar (a native object with a finalizer) of which only the handle reaches libtorch, so a
/// garbage collection on another thread during the call can free it while libtorch reads it (the race that aborted
/// CI once in per-layer code: <see cref="Scalars"/>). The step runs about seven such calls per parameter per batch, far
/// more than any per-layer site, so the optimizer is where the race had the most chances. The state (step count and
/// moments) is TorchSharp's <see cref="TorchSharp.Modules.AdamW.State"/>, so checkpoints keep their format and
/// <c>load_state_dict</c> works across the two classes. Its name is AdamW on purpose: TorchSharp writes the class
/// name into the saved state and refuses a stream whose name differs, so any other name would make every checkpoint
/// written before it impossible to resume.
/// </summary>
public sealed class AdamW(IEnumerable<TorchSharp.Modules.AdamW.ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
    : TorchSharp.Modules.AdamW(groups, lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize: false)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var o = (Options)group.Options;
        double b1 = o.beta1!.Value, b2 = o.beta2!.Value, rate = o.LearningRate!.Value, decay = o.weight_decay!.Value;
        if (o.amsgrad!.Value || o.maximize!.Value)
            throw new NotSupportedException("FineTune's AdamW implements AdamW without amsgrad and maximize (FineTune uses neither).");
        using var keep = (1 - rate * decay).ToScalar();
        using var beta1 = b1.ToScalar();
        using var beta2 = b2.ToScalar();
        using var gradWeight = (1 - b1).ToScalar();
        using var squareWeight = (1 - b2).ToScalar();
        using var epsilon = o.eps!.Value.ToScalar();
        foreach (var param in group.Parameters)
        {
            var grad = param.grad;
            if (grad is null) continue;
            var state = (State)_state[param.Handle];
            state.step += 1;
            param.mul_(keep);
            double correction1 = 1 - Math.Pow(b1, state.step), correction2 = 1 - Math.Pow(b2, state.step);
            state.exp_avg.mul_(beta1).add_(grad, gradWeight);
            state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, squareWeight);
            using var root2 = Math.Sqrt(correction2).ToScalar();
            using var stepSize = (-rate / correction1).ToScalar();
            var denom = state.exp_avg_sq.sqrt().div_(root2).add_(epsilon, Scalars.One);
            param.addcdiv_(state.exp_avg, denom, stepSize);
        }
    }, closure);
}
