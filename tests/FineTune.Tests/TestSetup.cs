using System.Runtime.CompilerServices;
using FineTune.Kernels;

namespace FineTune.Tests;

static class TestSetup
{
    /// <summary>
    /// Every test may touch torch: check this CPU's kernels and make the native library loadable first, as the
    /// program does. Tests then compute with the configuration a run would get (on a CPU whose channels-last or
    /// strided-backward kernels fail, the routes around them).
    /// </summary>
    [ModuleInitializer]
    internal static void LoadNativeLibrary()
    {
        KernelCheck.Prepare(KernelRequest.ForTests(CpuInfo.Current.HasNativeBf16));
        FineTune.Native.TorchNative.EnsureLoaded();
    }
}
