using FineTune.Kernels;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

/// <summary>
/// A CPU made faulty for the tests: each operation that one of <paramref name="faults"/> matches computes as its broken
/// kernel would. Given to a model through <see cref="KernelPlan.Routing"/>, to the kernel check's probes through
/// <see cref="ProbeHost"/> (this program, started with `kernel-probe-with-faults SPEC`).
/// </summary>
public sealed class FaultyKernels(IReadOnlyList<KernelFault> faults) : IKernelInterceptor
{
    /// <summary>The faults of <paramref name="spec"/> (<see cref="KernelFault"/>; "none" or blank for none); null for none, so a run without faults has no interceptor.</summary>
    public static FaultyKernels? Parse(string? spec) => spec != "none" && KernelFault.Parse(spec) is { Count: > 0 } faults ? new FaultyKernels(faults) : null;

    public Tensor Run(OpShape shape, ConvRoute route, Tensor x, Tensor? w, Tensor? b, Func<Tensor, Tensor?, Tensor?, Tensor> op)
    {
        var (layout, dtype) = (ConvRoutes.LayoutOf(x), ConvRoutes.DtypeOf(x));
        var fault = faults.FirstOrDefault(f => f.ActsOn(shape, layout, dtype, route, x.shape[0]));
        return fault is null ? op(x, w, b) : fault.Apply(x, w, b, op);
    }

    /// <summary>The scenario that runs the kernel check's probes with faults: `kernel-probe-with-faults SPEC kernel-probe ...`.</summary>
    public const string ProbeScenario = "kernel-probe-with-faults";

    /// <summary>This program as the kernel check's probe host, its probes computed on a CPU with the faults of <paramref name="spec"/>.</summary>
    public static ProbeHost ProbeHost(string spec) => new(Dotnet, [typeof(FaultyKernels).Assembly.Location, ProbeScenario, spec]);

    /// <summary>The check's options for a run on a CPU with the faults of <paramref name="spec"/>: its probes and its model's convolutions alike.</summary>
    public static KernelCheckOptions Options(string? spec) =>
        Parse(spec) is { } faulty ? new KernelCheckOptions(ProbeHost(spec!), faulty) : KernelCheckOptions.None;

    /// <summary>The `dotnet` running the tests (or this program), as the tests start this program.</summary>
    static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";
}
