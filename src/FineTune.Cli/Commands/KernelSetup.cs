using FineTune.Kernels;

namespace FineTune.Cli.Commands;

/// <summary>The kernel check as every command that runs a model starts it: checked or cached, applied, and said in one line.</summary>
static class KernelSetup
{
    public static KernelPlan Prepare(KernelRequest request, TextWriter? log = null) => KernelCheck.PrepareAndReport(request, log ?? Console.Out);
}
