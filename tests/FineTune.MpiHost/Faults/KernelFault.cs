using FineTune.Kernels;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

public enum FaultKind { Wrong, Nan, Crash }

/// <summary>Where an injected fault acts: the forward result, or one gradient of the backward pass (a crash: anywhere in it).</summary>
public enum FaultPass { Forward, Backward, BackwardData, BackwardWeight, BackwardBias }

/// <summary>
/// Test-only: makes chosen operations behave like the broken oneDNN kernels seen on some CPUs, so the kernel
/// check and the routes around a fault can be tested on a machine without one (<see cref="FaultyKernels"/> puts them
/// where a broken kernel would act). A spec is faults separated by ';', each a comma-separated list of key=value:
/// <c>kind=wrong|nan|crash</c> (required), <c>op=conv|batchnorm|batchnorm_eval|maxpool|avgpool|linear</c> (default conv),
/// <c>cin</c>, <c>cout</c>, <c>k</c>, <c>stride</c>, <c>layout=nchw|channels_last</c>, <c>dtype=fp32|bf16</c>,
/// <c>pass=forward|backward|backward_data|backward_weight|backward_bias</c> (the result or gradient that is wrong;
/// backward: a crash anywhere in the backward pass), <c>batch=N</c> (only at batch N), <c>sample=N</c> (a wrong value
/// only in sample N of the batch), <c>size=F</c> (how far off, relative to the largest value; default 0.25),
/// <c>route=direct|any</c> (default direct: a kernel bug, which other routes avoid), <c>isa_above=AVX2</c> (the fault
/// vanishes when ONEDNN_MAX_CPU_ISA caps at that level or lower), <c>after=N</c> (only from the (N+1)th matching call
/// on, to crash mid-run), <c>threads=N</c> (only while libtorch runs on N threads, as oneDNN's plans differ by thread
/// count). nan puts one NaN in the middle of the result (of sample N); a crash is a real SIGFPE. Convolutions act in
/// the model and the probes alike (<see cref="ConvRoutes"/>); the other operations have no seam in the model (libtorch's
/// own modules), so their faults act in the kernel check's probes, which is where a detector is tested.
/// The engine knows none of this: it has only the seam, <see cref="IKernelInterceptor"/>.
/// </summary>
public sealed partial record KernelFault(FaultKind Kind, int? Cin, int? Cout, int? K, int? Stride, Layout? Layout, KernelDtype? Dtype,
                                         FaultPass Pass, bool AnyRoute, string? IsaAbove, int After = 0, int? Threads = null)
{
    int _calls;

    public ProbeOp Op { get; init; } = ProbeOp.Conv;
    public int? Batch { get; init; }
    public int? Sample { get; init; }
    public double Size { get; init; } = 0.25;

    public bool InBackward => Pass != FaultPass.Forward;

    /// <summary>Whether this fault acts on this call (counting the calls it matches, for <see cref="After"/>).</summary>
    internal bool ActsOn(OpShape shape, Layout layout, KernelDtype dtype, ConvRoute route, long batch) =>
        Matches(shape, layout, dtype, route, batch) && Interlocked.Increment(ref _calls) > After;

    bool Matches(OpShape s, Layout layout, KernelDtype dtype, ConvRoute route, long batch) =>
        Op == s.Op && (Cin ?? s.Cin) == s.Cin && (Cout ?? s.Cout) == s.Cout && (K ?? s.K) == s.K && (Stride ?? s.Stride) == s.Stride
        && (Layout ?? layout) == layout && (Dtype ?? dtype) == dtype && (AnyRoute || route == ConvRoute.Direct)
        && (Batch ?? batch) == batch && !IsaCappedAtOrBelow(IsaAbove) && (Threads is null || Threads == get_num_threads());

    static bool IsaCappedAtOrBelow(string? level)
    {
        if (level is null) return false;
        var cap = Environment.GetEnvironmentVariable(OneDnnIsa.Variable);
        return cap is not null && OneDnnIsa.Rank(cap) <= OneDnnIsa.Rank(level);
    }

    /// <summary>Every fault of <paramref name="text"/>; none for null or blank.</summary>
    public static IReadOnlyList<KernelFault> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var faults = new List<KernelFault>();
        foreach (var spec in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = spec.Split(',', StringSplitOptions.TrimEntries).Select(p => p.Split('=', 2))
                .ToDictionary(p => p[0].ToLowerInvariant(), p => p.Length > 1 ? p[1] : "");
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            int? Int(string key) => kv.TryGetValue(key, out var v) ? int.Parse(v, culture) : null;
            T Word<T>(string key, T fallback) where T : struct, Enum =>
                !kv.TryGetValue(key, out var v) ? fallback
                : Enum.TryParse<T>(v.Replace("_", ""), ignoreCase: true, out var parsed) ? parsed
                : throw new ArgumentException($"kernel fault: {key} cannot be '{v}' in '{spec}'.");
            if (!kv.ContainsKey("kind")) throw new ArgumentException($"kernel fault: kind must be wrong, nan or crash in '{spec}'.");
            Layout? layout = kv.GetValueOrDefault("layout") switch { null => null, "nchw" => FineTune.Kernels.Layout.Nchw, _ => FineTune.Kernels.Layout.ChannelsLast };
            KernelDtype? dtype = kv.GetValueOrDefault("dtype") switch { null => null, "bf16" => KernelDtype.Bf16, _ => KernelDtype.Fp32 };
            faults.Add(new KernelFault(Word("kind", FaultKind.Wrong), Int("cin"), Int("cout"), Int("k"), Int("stride"), layout, dtype,
                Word("pass", FaultPass.Forward), kv.GetValueOrDefault("route") == "any", kv.GetValueOrDefault("isa_above"), Int("after") ?? 0, Int("threads"))
            {
                Op = Word("op", ProbeOp.Conv), Batch = Int("batch"), Sample = Int("sample"),
                Size = kv.TryGetValue("size", out var size) ? double.Parse(size, culture) : 0.25,
            });
        }
        return faults;
    }
}
