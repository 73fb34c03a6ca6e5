using FineTune.Config;
using FineTune.Native;

namespace FineTune.Models;

/// <summary>What the model's convolutions and classifier compute in (see <see cref="ResNet.Precision"/>).</summary>
public enum ComputePrecision { Fp32, Bf16, Fp64 }

/// <summary>
/// The precision a run uses and, in words, why; <see cref="SlowerWarning"/> is set when bf16 was asked for on a CPU
/// that emulates it (it still runs, only slower).
/// </summary>
public sealed record PrecisionChoice(ComputePrecision Precision, string Reason, string? SlowerWarning = null)
{
    public string Name => Precision.ToName();

    /// <summary>The one line every run prints: "Precision: bf16 (auto: ...)".</summary>
    public override string ToString() => $"Precision: {Name} ({Reason})";
}

/// <summary>
/// What a CPU offers for bf16. <see cref="NativeFlag"/>: its native bf16 flag (amx_bf16 or avx512_bf16), null when it
/// has none. <see cref="FasterThanFp32"/>: whether bf16 convolutions run faster than fp32 ones there. Measured with
/// `finetune bench --precision fp32,bf16`: on an Intel Xeon (family 6 model 207) that lists avx512_bf16 but no AMX,
/// bf16 was slower than fp32 in both libtorch 2.10 and PyTorch 1.13 (oneDNN picks avx512_core_bf16 kernels; likely
/// because the bf16 dot-product instruction is not faster per multiply-add than fp32 FMAs on Intel cores, so only the
/// casts are added), while AMD EPYC hosts with avx512_bf16 ran PyTorch's autocast 3x faster (issue 12), and AMX tiles
/// are built for bf16.
/// </summary>
public sealed record CpuBf16(string? NativeFlag, bool FasterThanFp32, string Description)
{
    public static readonly CpuBf16 None = new(null, false, "no native bf16 (no " + string.Join(" or ", Precision.NativeBf16Flags) + ")");

    /// <summary>From a cpuinfo "vendor_id" and "flags" line's words.</summary>
    public static CpuBf16 From(string? vendor, IReadOnlySet<string> flags)
    {
        if (flags.Contains("amx_bf16")) return new("amx_bf16", true, "amx_bf16");
        if (!flags.Contains("avx512_bf16")) return None;
        return vendor == "AuthenticAMD"
            ? new("avx512_bf16", true, "avx512_bf16 (AMD)")
            : new("avx512_bf16", false, $"avx512_bf16 but no AMX ({vendor ?? "unknown vendor"}: measured slower in bf16 than fp32)");
    }
}

/// <summary>
/// Picks fp32 or bf16. A pure function of what was asked, what the CPU offers and what the kernel check found, so
/// the rule reads in one place and tests need no particular CPU; <see cref="ThisCpu"/> supplies the machine's answer.
/// </summary>
public static class Precision
{
    /// <summary>The /proc/cpuinfo flags that mean bf16 arithmetic in hardware (AMX tiles, AVX-512 BF16 dot products).</summary>
    public static readonly IReadOnlyList<string> NativeBf16Flags = ["amx_bf16", "avx512_bf16"];

    public static string ToName(this ComputePrecision p) => p switch
    {
        ComputePrecision.Bf16 => "bf16",
        ComputePrecision.Fp64 => "fp64",
        _ => "fp32",
    };

    /// <summary>
    /// The precision for <paramref name="requested"/> on a CPU that offers <paramref name="cpu"/>.
    /// <paramref name="bf16KernelsVerified"/> is the kernel check's verdict on libtorch's bf16 convolution, BatchNorm,
    /// pooling and linear kernels: true passed, false failed, null not run. auto takes bf16 only where the CPU runs it
    /// natively and faster than fp32 and the kernels did not fail the check. An explicit choice is obeyed, except bf16 on
    /// kernels that failed the check (fp32, and the line says why); bf16 where it is not faster runs with a warning.
    /// </summary>
    public static PrecisionChoice Resolve(PrecisionSetting requested, CpuBf16 cpu, bool? bf16KernelsVerified)
    {
        var check = bf16KernelsVerified switch
        {
            true => "the kernel check passed for bf16",
            false => "the kernel check failed for bf16",
            null => "bf16 kernels not checked",
        };
        switch (requested)
        {
            case PrecisionSetting.Fp32:
                return new(ComputePrecision.Fp32, "asked for");
            case PrecisionSetting.Fp64:
                return new(ComputePrecision.Fp64, "asked for: float64 everywhere, for verification; several times slower than fp32");
            case PrecisionSetting.Bf16 when bf16KernelsVerified == false: // never run silently on kernels known to be wrong
                return new(ComputePrecision.Fp32, $"bf16 asked for, but {check} on this CPU, so fp32 instead");
            case PrecisionSetting.Bf16 when cpu.NativeFlag is null:
                return new(ComputePrecision.Bf16, "asked for; this CPU has no native bf16",
                    "bf16 was asked for, but this CPU has no native bf16 (no " + string.Join(" or ", NativeBf16Flags)
                    + " in /proc/cpuinfo): libtorch emulates it, so this run will be slower than fp32. Use --precision fp32 or auto here.");
            case PrecisionSetting.Bf16 when !cpu.FasterThanFp32:
                return new(ComputePrecision.Bf16, $"asked for; CPU has {cpu.Description}",
                    $"bf16 was asked for; this CPU has {cpu.Description}, so this run will likely be slower than fp32. Use --precision fp32 or auto here.");
            case PrecisionSetting.Bf16:
                return new(ComputePrecision.Bf16, $"asked for; CPU has {cpu.Description}");
            default:
                if (!cpu.FasterThanFp32) return new(ComputePrecision.Fp32, $"auto: CPU has {cpu.Description}");
                if (bf16KernelsVerified == false) return new(ComputePrecision.Fp32, $"auto: CPU has {cpu.Description}, but {check}");
                return new(ComputePrecision.Bf16, $"auto: CPU has {cpu.Description}; {check}");
        }
    }

    /// <summary>This machine's bf16 support, from the CPU's vendor and flags as <see cref="CpuInfo"/> read them once from /proc/cpuinfo.</summary>
    public static CpuBf16 ThisCpu() => CpuBf16.From(CpuInfo.Current.Vendor, CpuInfo.Current.Flags.ToHashSet(StringComparer.Ordinal));

    /// <summary>
    /// The choice for this machine, with the verdict of the kernel check that <paramref name="kernels"/> came from.
    /// On a GPU auto stays fp32: the bf16 path was built and measured for the CPU only.
    /// </summary>
    public static PrecisionChoice ForThisMachine(PrecisionSetting requested, KernelRouting kernels, bool onCpu = true)
    {
        if (!onCpu && requested == PrecisionSetting.Auto)
            return new(ComputePrecision.Fp32, "auto: bf16 autocast is implemented for the CPU only");
        // The kernel check (Kernels/, issue 11) probes bf16 kernels where the CPU has native bf16; not run: no verdict.
        var choice = Resolve(requested, ThisCpu(), kernels.Bf16Verdict(requested == PrecisionSetting.Bf16));
        return requested == PrecisionSetting.Bf16 && choice.Precision == ComputePrecision.Fp32 && kernels.Bf16Failure is { } failed
            ? choice with { Reason = $"{choice.Reason}; e.g. {failed}" }
            : choice;
    }
}
