using FineTune.Kernels;
using FineTune.Native;
using static TorchSharp.torch;

namespace FineTune;

/// <summary>What every job that runs a model does first, the same way: the device (the precision is <see cref="Training.PrecisionSetup"/>, the kernel check <see cref="KernelCheck.PrepareAndReport"/>).</summary>
static class ModelSetup
{
    /// <summary>The seed's --gpu for one process (loads libtorch first); a malformed or unavailable device is a <see cref="DeviceNotAvailableException"/>.</summary>
    public static Device SelectDevice(string? gpu)
    {
        try { return TorchNative.SelectDevice(gpu); }
        catch (Exception e) when (e is ArgumentException or NativeLibraryException) { throw new DeviceNotAvailableException(e.Message, e); }
    }
}
