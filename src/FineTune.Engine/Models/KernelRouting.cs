using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTune.Models;

/// <summary>
/// How a model's kernels run on this CPU, handed to the model when it is built (<see cref="ResNet"/>,
/// <see cref="ModelFactory.Create"/>): every convolution goes through <see cref="Conv"/>, inputs are made channels-last
/// only where <see cref="ChannelsLast"/> allows, and the precision choice reads the bf16 verdict. This default is
/// libtorch's own kernels, unchecked; the kernel check (Kernels/) makes one from its plan that routes a convolution
/// whose kernel fails here another, verified way.
/// </summary>
public class KernelRouting
{
    /// <summary>libtorch's own kernels everywhere, no check behind them.</summary>
    public static KernelRouting Default { get; } = new();

    /// <summary>Whether inputs may be channels-last (a CPU whose channels-last kernels fail computes in NCHW).</summary>
    public virtual bool ChannelsLast => true;

    /// <summary>The check's word on bf16 for <see cref="Precision.Resolve"/>: true verified, false failed, null not checked.</summary>
    public virtual bool? Bf16Verdict(bool bf16Asked) => null;

    /// <summary>A bf16 probe that failed, in words ("probe: what was wrong"), for the line that explains falling back to fp32.</summary>
    public virtual string? Bf16Failure => null;

    /// <summary>
    /// <paramref name="conv"/> applied to <paramref name="x"/>; <paramref name="weight"/> replaces the module's own (bf16
    /// autocast passes its weight cast to bf16; evaluation its weight with the BatchNorm after it folded in, and
    /// <paramref name="bias"/> the rest of that BatchNorm).
    /// </summary>
    public virtual Tensor Conv(Conv2d conv, Tensor x, Tensor? weight = null, Tensor? bias = null) =>
        weight is null && bias is null ? conv.call(x) : F.conv2d(x, weight ?? conv.weight!, bias, conv.stride, conv.padding!);
}
