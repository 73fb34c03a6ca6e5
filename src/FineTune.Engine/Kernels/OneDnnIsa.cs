using System.Runtime.InteropServices;

namespace FineTune.Kernels;

/// <summary>
/// oneDNN's instruction-set cap. oneDNN reads ONEDNN_MAX_CPU_ISA from the process's native environment once,
/// when it first dispatches; .NET keeps its own copy of the environment on Linux, so the value is set with
/// libc's setenv as well, before libtorch runs anything.
/// </summary>
public static class OneDnnIsa
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>oneDNN's names, lowest first (a subset: the levels a fallback steps through).</summary>
    public static readonly IReadOnlyList<string> Levels = ["SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "DEFAULT"];

    /// <summary>Caps tried, fastest first, when a kernel fails at the CPU's own level.</summary>
    public static readonly IReadOnlyList<string> Fallbacks = ["AVX512_CORE_BF16", "AVX512_CORE", "AVX2", "SSE41"];

    public static int Rank(string level)
    {
        var i = Levels.ToList().FindIndex(l => l.Equals(level, StringComparison.OrdinalIgnoreCase));
        return i < 0 ? Levels.Count : i;
    }

    /// <summary>The cap the user set, if any (ONEDNN_ or the older DNNL_ name).</summary>
    public static string? UserCap =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } v ? v
        : Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA") is { Length: > 0 } d ? d : null;

    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);

    /// <summary>Sets the cap for this process (native and managed environment) and the processes it starts.</summary>
    public static void Apply(string level)
    {
        Environment.SetEnvironmentVariable(Variable, level);
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) setenv(Variable, level, 1);
    }
}
