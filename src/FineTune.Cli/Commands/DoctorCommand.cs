using FineTune.Config;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune doctor [--config F] [--recheck]`: the machine as FineTune sees it, and the full kernel check: every
/// probe, its error against float64, and the configuration chosen. Without --config it checks all ResNets at
/// 224 px, batch 8, channels-last, training and evaluation.
/// </summary>
public static class DoctorCommand
{
    public static int Run(CommandLine cl)
    {
        var configPath = cl.Get("config");
        bool recheck = cl.Flag("recheck");
        cl.RejectUnknown("doctor");
        var request = configPath is null
            ? new KernelRequest([BlockKind.Basic, BlockKind.Bottleneck], 224, 8, 224, 8, 1000, ChannelsLast: true, Training: true, CpuInfo.Current.HasNativeBf16, 0)
            : KernelRequest.ForConfig(ConfigLoader.Load(configPath), training: true);
        if (recheck && KernelCheck.ClearEscalations() is > 0 and var cleared)
            Console.WriteLine($"Cleared {cleared} step-down(s) made after runs that ended without a word: every configuration is checked from the fastest plan again.");
        var cpu = CpuInfo.Current;
        Console.WriteLine($"CPU: {cpu}");
        Console.WriteLine($"Native bf16: {(cpu.HasNativeBf16 ? "yes" : "no")} (avx512_bf16 / amx_bf16); {Precision.ThisCpu().Description}");
        Console.WriteLine($"oneDNN ISA cap set by you: {OneDnnIsa.UserCap ?? "none"}");
        Console.WriteLine($"Check cache: {KernelCheck.Folder} (key {KernelCheck.Key(request)})");

        // Every probe with libtorch's own kernels, shown in full; then the plan the check chooses from them.
        var probes = request.Probes();
        Console.WriteLine($"\nProbes with libtorch's own kernels ({probes.Count}; tolerance fp32 {ProbeRunner.Tolerance(KernelDtype.Fp32):G2}, bf16 {ProbeRunner.Tolerance(KernelDtype.Bf16):G2} of the largest value):");
        var results = ProbeProcess.Run(probes, OneDnnIsa.UserCap, TimeSpan.FromMinutes(10));
        foreach (var r in results)
            Console.WriteLine($"  {(r.Passed ? "ok  " : "FAIL")} {r.Probe,-72} {(r.Passed ? $"{r.Error:G2}" : $"{r.Verdict.ToString().ToLowerInvariant()}: {r.Detail}")} ({r.Seconds:F2} s)");
        // An uncached check starts from these results instead of running the same probes again (its first round runs
        // under the user's cap too: the probe children inherit ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA).
        var plan = KernelCheck.CachedOrChecked(request, Console.WriteLine, recheck, firstRound: results);
        Console.WriteLine();
        Console.WriteLine(plan.Summary());
        TorchNative.EnsureLoaded();
        Console.WriteLine($"libtorch: {TorchNative.Status}");
        return 0;
    }
}
