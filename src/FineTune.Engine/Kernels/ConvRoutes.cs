using FineTune.Native;
using FineTune.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTune.Kernels;

/// <summary>
/// The routes a convolution can take (<see cref="ConvRoute"/>): the model's, where its plan routes a shape whose kernel
/// is broken on this CPU (see <see cref="KernelCheck"/>), and the probes' that test them.
/// </summary>
public static class ConvRoutes
{
    /// <summary>
    /// A convolution by <paramref name="route"/>, through <paramref name="interceptor"/> when there is one (the tests'
    /// faults). Without bias in training (as in every ResNet), with one in evaluation, where each BatchNorm is folded
    /// into the convolution before it.
    /// </summary>
    public static Tensor Run(ConvRoute route, OpShape shape, Tensor x, Tensor weight, Tensor? bias = null, IKernelInterceptor? interceptor = null) =>
        interceptor.Apply(shape, route, x, weight, bias, (x, w, b) => Compute(route, shape, x, w!, b));

    static Tensor Compute(ConvRoute route, OpShape s, Tensor x, Tensor w, Tensor? b)
    {
        long[] stride = [s.Stride, s.Stride], pad = [s.Pad, s.Pad];
        switch (route)
        {
            case ConvRoute.Direct:
                return F.conv2d(x, w, b, stride, pad);
            case ConvRoute.Nchw:
            {
                using var scope = NewDisposeScope();
                var y = F.conv2d(x.contiguous(), w.contiguous(), b, stride, pad);
                return (ChannelsLast.Is(x) ? ChannelsLast.Of(y) : y).MoveToOuterDisposeScope();
            }
            case ConvRoute.Subsample when s.K == 1 && s.Pad == 0:
            {
                using var scope = NewDisposeScope();
                var sub = Subsample(x, s.Stride);
                return F.conv2d(sub, w, b, [1, 1], [0, 0]).MoveToOuterDisposeScope();
            }
            case ConvRoute.Matmul when s.K == 1 && s.Pad == 0:
            {
                using var scope = NewDisposeScope();
                var sub = Subsample(x, s.Stride);
                // [N, H, W, Cin] x [Cin, Cout] -> [N, H, W, Cout], seen as NCHW: channels-last by construction.
                var product = sub.permute(0, 2, 3, 1).matmul(w.reshape(w.shape[0], w.shape[1]).t());
                if (b is not null) product.add_(b, Scalars.One);
                var y = product.permute(0, 3, 1, 2);
                return (ChannelsLast.Is(x) ? y : y.contiguous()).MoveToOuterDisposeScope();
            }
            default:
                throw new ArgumentException($"Route {route} does not apply to {s}.");
        }
    }

    static Tensor Subsample(Tensor x, int stride) =>
        stride == 1 ? x.alias() : x.slice(2, 0, x.shape[2], stride).slice(3, 0, x.shape[3], stride);

    public static Layout LayoutOf(Tensor x) =>
        x.dim() == 4 && ChannelsLast.Is(x) && !x.is_contiguous() ? Layout.ChannelsLast : Layout.Nchw;

    public static KernelDtype DtypeOf(Tensor x) => x.dtype == ScalarType.BFloat16 ? KernelDtype.Bf16 : KernelDtype.Fp32;
}

/// <summary>
/// The routing <see cref="KernelPlan.Routing"/> gives a model: each convolution by the route its plan chose for the
/// shape, layout and precision (libtorch's own where the plan routes nothing), and the plan's channels-last and bf16 word.
/// </summary>
sealed class PlannedRouting(KernelPlan plan, IKernelInterceptor? interceptor) : KernelRouting
{
    public override bool ChannelsLast => plan.ChannelsLast;

    public override bool? Bf16Verdict(bool bf16Asked) => plan.Bf16Verdict(bf16Asked);

    public override string? Bf16Failure => plan.Bf16Failure is { } failed ? $"{failed.Probe}: {failed.Detail}" : null;

    public override Tensor Conv(Conv2d conv, Tensor x, Tensor? weight = null, Tensor? bias = null)
    {
        if (!plan.HasRoutes && interceptor is null) return base.Conv(conv, x, weight, bias);
        var (k, stride, pad) = ((int)conv.kernel_size[0], (int)conv.stride[0], (int)conv.padding![0]);
        var shape = new OpShape(ProbeOp.Conv, (int)conv.in_channels, (int)conv.out_channels, k, stride, pad, (int)x.shape[2]);
        var route = plan.RouteFor(shape, ConvRoutes.LayoutOf(x), ConvRoutes.DtypeOf(x));
        return ConvRoutes.Run(route, shape, x, weight ?? conv.weight!, bias, interceptor);
    }
}
