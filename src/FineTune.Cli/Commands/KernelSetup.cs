using FineTune.Config;
using FineTune.Kernels;

namespace FineTune.Cli.Commands;

/// <summary>The kernel check as every command that runs a model starts it: checked or cached, applied, and said in one line.</summary>
static class KernelSetup
{
    public static KernelPlan Prepare(KernelRequest request, TextWriter? log = null)
    {
        log ??= Console.Out;
        var plan = KernelCheck.Prepare(request, m => log.WriteLine(m));
        log.WriteLine(plan.Summary());
        return plan;
    }

    public static KernelPlan Prepare(FineTuneConfig config, bool training, TextWriter? log = null) =>
        Prepare(KernelRequest.ForConfig(config, training), log);
}
