using static TorchSharp.torch;

namespace FineTune.Kernels;

/// <summary>
/// What sits around each operation the kernel check probes and each convolution a plan routes. A program has none: the
/// operation runs as computed. The tests pass one that acts as a broken kernel would (a wrong result or gradient, a
/// crash), so that the check and the routes around a fault are tested on a CPU without one: in their own process through
/// <see cref="KernelPlan.Routing"/>, in the check's probe processes through a probe host of theirs (<see cref="ProbeHost"/>).
/// </summary>
public interface IKernelInterceptor
{
    /// <summary>
    /// <paramref name="op"/> on data <paramref name="x"/>, weight <paramref name="w"/> and bias <paramref name="b"/> (null
    /// where the operation has none), the operation <paramref name="shape"/> computed by <paramref name="route"/>.
    /// </summary>
    Tensor Run(OpShape shape, ConvRoute route, Tensor x, Tensor? w, Tensor? b, Func<Tensor, Tensor?, Tensor?, Tensor> op);
}

public static class KernelInterception
{
    /// <summary><paramref name="op"/> through <paramref name="interceptor"/>, or as it is where there is none.</summary>
    public static Tensor Apply(this IKernelInterceptor? interceptor, OpShape shape, ConvRoute route, Tensor x, Tensor? w, Tensor? b,
                               Func<Tensor, Tensor?, Tensor?, Tensor> op) =>
        interceptor is null ? op(x, w, b) : interceptor.Run(shape, route, x, w, b, op);
}
