using FineTune.Kernels;

namespace FineTune.Cli.Commands;

/// <summary>
/// Hidden `finetune kernel-probe --probes FILE --from N --threads T`: the child process of the kernel check
/// (<see cref="ProbeProcess"/>). It runs probes until one kills it; the parent carries on in a new child.
/// </summary>
public static class KernelProbeCommand
{
    public static int Run(CommandLine cl)
    {
        var file = cl.Require("probes", "the probe list the kernel check wrote");
        int from = cl.GetInt("from", 0);
        int threads = cl.GetInt("threads", 0);
        cl.RejectUnknown(ProbeProcess.Command);
        return ProbeProcess.RunChild(file, from, threads);
    }
}
