namespace FineTune.Config;

/// <summary>
/// What a config or command line asks for (training.precision, --precision). Fp64 is for verification: every parameter,
/// activation and gradient in float64, where rounding (~1e-16) is too small to be amplified into a visible difference by
/// a few steps of training, so two computations of the same function agree to ~1e-12 on any CPU.
/// </summary>
public enum PrecisionSetting { Auto, Fp32, Bf16, Fp64 }

/// <summary>The words for a <see cref="PrecisionSetting"/>, as configs and command lines write it.</summary>
public static class PrecisionSettings
{
    public static string ToName(this PrecisionSetting p) => p switch
    {
        PrecisionSetting.Fp32 => "fp32",
        PrecisionSetting.Bf16 => "bf16",
        PrecisionSetting.Fp64 => "fp64",
        _ => "auto",
    };

    /// <summary>"fp32", "bf16", "fp64" (also "float32", "bfloat16", "float64") or "auto", any case; null for anything else.</summary>
    public static PrecisionSetting? TryParse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" => PrecisionSetting.Auto,
        "fp32" or "float32" => PrecisionSetting.Fp32,
        "bf16" or "bfloat16" => PrecisionSetting.Bf16,
        "fp64" or "float64" => PrecisionSetting.Fp64,
        _ => null,
    };
}
