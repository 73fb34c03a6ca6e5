using FineTune.Config;
using FineTune.Data;
using FineTune.Kernels;
using FineTune.Weights;
using FineTune.Logging;
using Microsoft.Extensions.Logging;

namespace FineTune;

/// <summary>How <see cref="Experiment.Train"/> runs a config: what the command line's flags of `finetune train` say.</summary>
public sealed record TrainOptions
{
    /// <summary>A checkpoint to continue from (`--resume`): its weights, optimizer, schedule and history.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>The seed's `--gpu 0` (or `0,1,2,3` with one rank per device); null trains on the CPU.</summary>
    public string? Gpu { get; init; }

    /// <summary>The kernel check's test seams (its probe host, what wraps the model's convolutions); none for a program.</summary>
    public KernelCheckOptions Kernels { get; init; } = KernelCheckOptions.None;

    /// <summary>Join the MPI job this process was started in (`mpirun -np N ... --distributed`): rank r of N trains one model together with the others.</summary>
    public bool Distributed { get; init; }

    /// <summary>
    /// Where the main rank's lines go (kernel plan, model, data, one summary per epoch, warnings), one message each;
    /// null: nowhere, the library is quiet unless given a logger. `finetune` passes <see cref="PlainTextLogger.Console"/>.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>Every batch of training, validation and the linear probe's feature pass, for a progress bar (`finetune`: <see cref="TextProgress"/>); null: none.</summary>
    public IProgress<ProgressUpdate>? Progress { get; init; }

    /// <summary>
    /// Data of your own instead of the config's `data:` section (images already in memory, another store): called once
    /// with the config and the preprocessing of the chosen weights. Under MPI each rank returns its own shard.
    /// </summary>
    public Func<FineTuneConfig, Preprocessing, TrainingData>? Data { get; init; }

    /// <summary>Names what cancelled the token (e.g. "SIGTERM") for the stop message and the ranks' agreement; null: <see cref="Training.StopReason.Cancelled"/>.</summary>
    public Func<string?>? StopReason { get; init; }

    /// <summary>
    /// No epoch starts that would end after this time (UTC), judged by the last epoch's duration; the run ends as
    /// early-stopped with its best checkpoint. For time budgets (<see cref="Experiment.TrainOnFolder"/>); ignored under MPI.
    /// </summary>
    public DateTime? EpochDeadline { get; init; }

    /// <summary>
    /// Called once the output and kernel checks are done and libtorch (and MPI) are up, just before weights and data
    /// load; what it returns is disposed when training ends. The command line listens for Ctrl-C over exactly that
    /// span, so a signal during the kernel check or a later test still ends the process at once.
    /// </summary>
    public Func<IDisposable>? ListenForStop { get; init; }
}
