using System.Runtime.CompilerServices;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;

namespace FineTune.Tests;

static class TestSetup
{
    /// <summary>The kernel check's plan for what the suite computes (<see cref="KernelRequest.ForTests"/>).</summary>
    internal static KernelPlan Plan { get; private set; } = KernelPlan.Unchecked("the tests' check has not run");

    /// <summary>
    /// What the tests' own models compute by: the configuration a run would get (on a CPU whose channels-last or
    /// strided-backward kernels fail, the routes around them). Models the API builds get their run's own.
    /// </summary>
    internal static KernelRouting Routing { get; private set; } = KernelRouting.Default;

    /// <summary>
    /// Every test may touch torch: check this CPU's kernels and make the native library loadable first, as the
    /// program does.
    /// </summary>
    [ModuleInitializer]
    internal static void LoadNativeLibrary()
    {
        Plan = KernelCheck.Prepare(KernelRequest.ForTests(CpuInfo.Current.HasNativeBf16));
        Routing = Plan.Routing();
        TorchNative.EnsureLoaded();
    }
}
