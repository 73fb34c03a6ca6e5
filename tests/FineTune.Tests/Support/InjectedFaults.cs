// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>
/// Wrong-kernel faults (specs of FineTune.MpiHost's <see cref="FineTune.MpiHost.KernelFault"/>), each with the route the kernel check gives it in a plan's summary
/// line. A real CPU may need a route of its own at one of these shapes (an AMD EPYC of family 26 gets the layer4
/// shortcut 1x1 256->512 wrong by itself: docs/platform.md), so a test injects the first one whose route a run with
/// nothing injected does not already take: there, the "sound" run is sound.
/// </summary>
static class InjectedFaults
{
    static readonly (string Fault, string Route)[] Candidates =
    [
        ("kind=wrong,cin=256,cout=512,k=1,layout=channels_last", "1x1 256->512 s2 channels-last fp32 via"),
        ("kind=wrong,cin=256,cout=256,k=3,layout=channels_last", "3x3 256->256 s1 channels-last fp32 via"),
        ("kind=wrong,cin=512,cout=512,k=3,layout=channels_last", "3x3 512->512 s1 channels-last fp32 via"),
    ];

    /// <summary>The first fault whose route <paramref name="soundKernelsLine"/> (a run's `Kernels:` summary with nothing injected) does not name.</summary>
    public static (string Fault, string Route) WhereSound(string soundKernelsLine) =>
        Candidates.First(c => !soundKernelsLine.Contains(c.Route, StringComparison.Ordinal));
}
