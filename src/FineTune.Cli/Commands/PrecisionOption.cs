using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Cli.Commands;

/// <summary>--precision on train, test and predict: overrides training.precision (or the checkpoint's).</summary>
static class PrecisionOption
{
    /// <summary>The setting --precision names (null when absent); a wrong word ends with the three choices.</summary>
    public static PrecisionSetting? Read(string? text) => text is null ? null
        : Precision.TryParse(text) ?? throw new UsageException($"--precision takes fp32, bf16 or auto; got '{text}'.");

    /// <summary>Resolves the setting for <paramref name="device"/>, sets it on the model and prints the run's one precision line (and any warning).</summary>
    public static PrecisionChoice Apply(ResNet model, PrecisionSetting setting, Device device, TextWriter log)
    {
        var choice = Precision.ForThisMachine(setting, onCpu: device.type == TorchSharp.DeviceType.CPU);
        model.Precision = choice.Precision;
        log.WriteLine(choice);
        if (choice.SlowerWarning is not null) log.WriteLine("Warning: " + choice.SlowerWarning);
        return choice;
    }
}
