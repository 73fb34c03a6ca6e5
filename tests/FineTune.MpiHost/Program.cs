using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Distributed;
using FineTune.MpiHost;

// `finetune-mpihost <scenario> ...`, one process per rank under mpirun (see tests/FineTune.Tests/Distributed), or one process
// on a CPU made faulty (tests/FineTune.Tests/Kernels: train-with-faults, and the kernel check's probe host kernel-probe-with-faults).
try
{
    FineTune.Native.TorchNative.EnsureLoaded(); // libtorch on a system whose libstdc++ is older than TorchSharp's (see docs/platform.md)
    return args.FirstOrDefault() switch
    {
        "train-nan" => TrainScenarios.NanOnRank(int.Parse(args[1]), int.Parse(args[2]), args[3..]),
        "train-fault-on-rank" => TrainScenarios.FaultOnOneRank(int.Parse(args[1]), args[2], args[3..]),
        "train-with-faults" => TrainScenarios.WithFaults(args[1], args[2..]),
        FaultyKernels.ProbeScenario => FineTune.Kernels.ProbeProcess.RunHost(args[2..], FaultyKernels.Parse(args[1])),
        "train-uneven-probe" => TrainScenarios.UnevenProbe(args[1].Split(',').Select(int.Parse).ToArray(), args[2..]),
        "syncbn" => SyncBatchNormCase.Run(args[1]),
        "collectives" => Collectives.Run(),
        _ => throw new UsageException("usage: finetune-mpihost train-nan RANK STEP TRAIN_ARGS... | train-uneven-probe N0,N1 TRAIN_ARGS... | train-fault-on-rank RANK FAULT TRAIN_ARGS... | train-with-faults FAULT TRAIN_ARGS... | kernel-probe-with-faults FAULT kernel-probe ... | syncbn OUT_PREFIX | collectives"),
    };
}
catch (Exception e) when (e is not (NullReferenceException or IndexOutOfRangeException or InvalidCastException))
{
    // As finetune's Program does: one line naming the rank; a non-zero exit ends the whole job under mpirun.
    var launch = LaunchInfo.FromEnvironment();
    Console.Error.WriteLine($"finetune-mpihost: {(launch is { Size: > 1 } ? $"rank {launch.Rank} of {launch.Size}: " : "")}{e.GetType().Name}: {e.Message}");
    if (Environment.GetEnvironmentVariable("FINETUNE_MPIHOST_TRACE") == "1") Console.Error.WriteLine(e.StackTrace);
    return 1;
}
