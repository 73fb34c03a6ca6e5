using System.Text.Json.Serialization;

namespace FineTune.Kernels;

/// <summary>
/// How a convolution is computed. <see cref="Direct"/> is libtorch's own choice; the others are the same
/// function through other kernels, for shapes whose direct kernel crashes or is wrong on a CPU.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ConvRoute>))]
public enum ConvRoute
{
    /// <summary>conv2d as called: oneDNN picks the kernel.</summary>
    Direct,
    /// <summary>1x1 stride-s as x[:, :, ::s, ::s] then a stride-1 convolution (avoids the strided backward kernel).</summary>
    Subsample,
    /// <summary>A channels-last input computed in NCHW (another oneDNN kernel family) and returned channels-last.</summary>
    Nchw,
    /// <summary>1x1 as a matrix product over channels: BLAS, not a convolution kernel at all.</summary>
    Matmul,
}

/// <summary>
/// One measurement the kernel check makes: an operation, at a batch, in a layout and precision, via a route, on
/// <see cref="Threads"/> threads (0: libtorch's default). oneDNN plans how it splits the work from the thread count,
/// so a kernel checked on two threads says nothing certain about the same shape on one.
/// </summary>
/// <see cref="Bias"/>: a convolution with a bias, as evaluation runs them (each BatchNorm folded into the convolution
/// before it); oneDNN adds a bias inside the kernel, so that kernel is checked too.
public sealed record Probe(OpShape Shape, int Batch, Layout Layout, KernelDtype Dtype, bool Backward, ConvRoute Route = ConvRoute.Direct,
                           int Threads = 0, bool Bias = false)
{
    public override string ToString() =>
        $"{Shape} n{Batch} {(Layout == Layout.ChannelsLast ? "channels-last" : "nchw")} {Dtype.ToString().ToLowerInvariant()} {(Backward ? "fwd+bwd" : "fwd")}{(Bias ? " +bias" : "")}{(Route == ConvRoute.Direct ? "" : $" via {Route.ToString().ToLowerInvariant()}")}"
        + (Threads > 0 ? $" {Threads} thread{(Threads == 1 ? "" : "s")}" : "");

    /// <summary>Routes that compute this convolution another way, in order of preference.</summary>
    public IEnumerable<ConvRoute> Alternatives()
    {
        if (Shape.Op != ProbeOp.Conv) yield break;
        bool oneByOne = Shape.K == 1 && Shape.Pad == 0;
        if (oneByOne && Shape.Stride > 1) yield return ConvRoute.Subsample;
        if (Layout == Layout.ChannelsLast) yield return ConvRoute.Nchw;
        if (oneByOne) yield return ConvRoute.Matmul;
    }
}

/// <summary>What a probe found. <see cref="Error"/> is the largest difference relative to the reference's largest value.</summary>
public sealed record ProbeResult(Probe Probe, ProbeVerdict Verdict, double Error, string Detail, double Seconds = 0)
{
    public bool Passed => Verdict == ProbeVerdict.Passed;
}

[JsonConverter(typeof(JsonStringEnumConverter<ProbeVerdict>))]
public enum ProbeVerdict { Passed, Wrong, Crashed, Failed }
