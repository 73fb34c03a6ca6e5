using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Kernels;

public enum FaultKind { Wrong, Crash }

/// <summary>
/// Test-only: makes chosen convolutions behave like the broken oneDNN kernels seen on some CPUs, so the kernel
/// check and the routes around a fault can be tested on a machine without one. Set
/// <c>FINETUNE_KERNEL_FAULT</c> to faults separated by ';', each a comma-separated list of key=value:
/// <c>kind=wrong|crash</c> (required), <c>cin</c>, <c>cout</c>, <c>k</c>, <c>stride</c>, <c>layout=nchw|channels_last</c>,
/// <c>dtype=fp32|bf16</c>, <c>pass=forward|backward</c> (crash only), <c>route=direct|any</c> (default direct: a
/// kernel bug, which other routes avoid), <c>isa_above=AVX2</c> (the fault vanishes when ONEDNN_MAX_CPU_ISA caps
/// at that level or lower), <c>after=N</c> (only from the (N+1)th matching call on, to crash mid-run), <c>threads=N</c>
/// (only while libtorch runs on N threads, as oneDNN's plans differ by thread count). A wrong result is off by a
/// quarter of the output's range; a crash is a real SIGFPE.
/// </summary>
public sealed record KernelFault(FaultKind Kind, int? Cin, int? Cout, int? K, int? Stride, Layout? Layout, KernelDtype? Dtype,
                                 bool InBackward, bool AnyRoute, string? IsaAbove, int After = 0, int? Threads = null)
{
    int _calls;

    public const string Variable = "FINETUNE_KERNEL_FAULT";

    static readonly IReadOnlyList<KernelFault> Active = Parse(Environment.GetEnvironmentVariable(Variable));

    public static bool Any => Active.Count > 0;

    public static KernelFault? Find(OpShape shape, Layout layout, KernelDtype dtype, ConvRoute route) =>
        Active.FirstOrDefault(f => f.Matches(shape, layout, dtype, route) && Interlocked.Increment(ref f._calls) > f.After);

    bool Matches(OpShape s, Layout layout, KernelDtype dtype, ConvRoute route) =>
        (Cin ?? s.Cin) == s.Cin && (Cout ?? s.Cout) == s.Cout && (K ?? s.K) == s.K && (Stride ?? s.Stride) == s.Stride
        && (Layout ?? layout) == layout && (Dtype ?? dtype) == dtype && (AnyRoute || route == ConvRoute.Direct)
        && !IsaCappedAtOrBelow(IsaAbove) && (Threads is null || Threads == get_num_threads());

    static bool IsaCappedAtOrBelow(string? level)
    {
        if (level is null) return false;
        var cap = Environment.GetEnvironmentVariable(OneDnnIsa.Variable);
        return cap is not null && OneDnnIsa.Rank(cap) <= OneDnnIsa.Rank(level);
    }

    public static IReadOnlyList<KernelFault> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var faults = new List<KernelFault>();
        foreach (var spec in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = spec.Split(',', StringSplitOptions.TrimEntries).Select(p => p.Split('=', 2))
                .ToDictionary(p => p[0].ToLowerInvariant(), p => p.Length > 1 ? p[1] : "");
            int? Int(string key) => kv.TryGetValue(key, out var v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : null;
            var kind = kv.GetValueOrDefault("kind") switch
            {
                "wrong" => FaultKind.Wrong,
                "crash" => FaultKind.Crash,
                var other => throw new ArgumentException($"{Variable}: kind must be wrong or crash, got '{other}' in '{spec}'."),
            };
            Layout? layout = kv.GetValueOrDefault("layout") switch { null => null, "nchw" => Kernels.Layout.Nchw, _ => Kernels.Layout.ChannelsLast };
            KernelDtype? dtype = kv.GetValueOrDefault("dtype") switch { null => null, "bf16" => KernelDtype.Bf16, _ => KernelDtype.Fp32 };
            faults.Add(new KernelFault(kind, Int("cin"), Int("cout"), Int("k"), Int("stride"), layout, dtype,
                kv.GetValueOrDefault("pass") == "backward", kv.GetValueOrDefault("route") == "any", kv.GetValueOrDefault("isa_above"), Int("after") ?? 0, Int("threads")));
        }
        return faults;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true)]
    static extern IntPtr signal(int sig, IntPtr handler);

    const int SIGFPE = 8;

    /// <summary>
    /// Dies as oneDNN's division by zero did: by SIGFPE, exit 136. The .NET runtime handles SIGFPE for managed
    /// division and ignores one sent by kill, so the default action is restored first, as a fault in native code gets.
    /// </summary>
    public static void CrashNow()
    {
        Console.Out.Flush();
        signal(SIGFPE, IntPtr.Zero); // SIG_DFL
        kill(Environment.ProcessId, SIGFPE);
        Thread.Sleep(Timeout.Infinite);
    }

    public static Tensor Corrupt(Tensor y)
    {
        using var scope = NewDisposeScope();
        var offset = y.detach().abs().max() * 0.25; // detached: the wrong result still has a gradient, as a wrong kernel's does
        return (y + offset).MoveToOuterDisposeScope();
    }

    /// <summary>The identity, whose backward pass crashes: as the SIGFPE in creating oneDNN's backward-data convolution.</summary>
    public static Tensor CrashOnBackward(Tensor y) => y.requires_grad ? CrashingIdentity.apply(y) : y;

    sealed class CrashingIdentity : autograd.SingleTensorFunction<CrashingIdentity>
    {
        public override string Name => "FineTuneInjectedCrash";
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).alias();
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            CrashNow();
            return [gradOutput];
        }
    }
}
