using FineTune.Config;
using FineTune.Models;

namespace FineTune.Cli.Commands;

/// <summary>--precision on train, test and predict: overrides training.precision (or the checkpoint's).</summary>
static class PrecisionOption
{
    /// <summary>The setting --precision names (null when absent); a wrong word ends with the three choices.</summary>
    public static PrecisionSetting? Read(string? text) => text is null ? null
        : PrecisionSettings.TryParse(text) ?? throw new UsageException($"--precision takes fp32, bf16 or auto; got '{text}'.");
}
