using FineTune.Config;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using static TorchSharp.torch;

namespace FineTune;

/// <summary>What every job that runs a model does first, the same way: the device and the precision (the kernel check is <see cref="KernelCheck.PrepareAndReport"/>).</summary>
static class ModelSetup
{
    /// <summary>The seed's --gpu for one process (loads libtorch first); a malformed or unavailable device is a <see cref="DeviceNotAvailableException"/>.</summary>
    public static Device SelectDevice(string? gpu)
    {
        try { return TorchNative.SelectDevice(gpu); }
        catch (Exception e) when (e is ArgumentException or NativeLibraryException) { throw new DeviceNotAvailableException(e.Message, e); }
    }

    /// <summary>
    /// Resolves <paramref name="setting"/> for <paramref name="device"/>, sets it on the model and writes the run's one
    /// precision line (and any warning); <paramref name="bf16Note"/> ends that line when the run computes in bf16.
    /// </summary>
    public static PrecisionChoice ApplyPrecision(ResNet model, PrecisionSetting setting, Device device, TextWriter log, string? bf16Note = null)
    {
        var choice = Precision.ForThisMachine(setting, model.Routing, onCpu: device.type == TorchSharp.DeviceType.CPU);
        model.Precision = choice.Precision;
        log.WriteLine(choice.Precision == ComputePrecision.Bf16 && bf16Note is not null ? $"{choice}; {bf16Note}" : choice.ToString());
        if (choice.SlowerWarning is not null) log.WriteLine("Warning: " + choice.SlowerWarning);
        return choice;
    }
}
