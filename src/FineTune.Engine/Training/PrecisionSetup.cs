using FineTune.Config;
using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>How every job that runs a model (train, test, predict) picks its precision, sets it and says so, the same way.</summary>
public static class PrecisionSetup
{
    /// <summary>
    /// Resolves <paramref name="setting"/> for <paramref name="device"/> (then <paramref name="agree"/> may replace the
    /// choice: ranks take rank 0's), sets it on the model and writes the run's one precision line (and any warning);
    /// <paramref name="bf16Note"/> ends that line when the run computes in bf16. Parameters stay fp32 whatever it chooses.
    /// </summary>
    public static PrecisionChoice Apply(ResNet model, PrecisionSetting setting, Device device, Action<string> line,
                                        string? bf16Note = null, Func<PrecisionChoice, PrecisionChoice>? agree = null)
    {
        var choice = Precision.ForThisMachine(setting, model.Routing, onCpu: device.type == TorchSharp.DeviceType.CPU);
        if (agree is not null) choice = agree(choice);
        model.Precision = choice.Precision;
        line(choice.Precision == ComputePrecision.Bf16 && bf16Note is not null ? $"{choice}; {bf16Note}" : choice.ToString());
        if (choice.SlowerWarning is not null) line("Warning: " + choice.SlowerWarning);
        return choice;
    }
}
