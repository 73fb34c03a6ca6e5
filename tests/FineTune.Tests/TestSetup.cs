using System.Runtime.CompilerServices;

namespace FineTune.Tests;

static class TestSetup
{
    /// <summary>Every test may touch torch: make the native library loadable first, as the program does.</summary>
    [ModuleInitializer]
    internal static void LoadNativeLibrary() => FineTune.Native.TorchNative.EnsureLoaded();
}
