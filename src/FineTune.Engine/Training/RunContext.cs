using FineTune.Evaluation;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// What surrounds one training run rather than what it trains: where its words go, what stops it and why, the ranks it
/// trains with, the device it computes on and when it must end.
/// </summary>
public sealed record RunContext(ProgressReporter Progress)
{
    /// <summary>Stops training cleanly: the step in flight finishes and a resumable checkpoint is written.</summary>
    public CancellationToken Stop { get; init; }

    /// <summary>Names what cancelled <see cref="Stop"/> (e.g. "SIGTERM"); null: <see cref="Training.StopReason.Cancelled"/>.</summary>
    public Func<string?>? StopReason { get; init; }

    /// <summary>The other ranks of a data-parallel run; null: this process trains alone.</summary>
    public ITrainingCollective? Collective { get; init; }

    public Device Device { get; init; } = CPU;

    /// <summary>
    /// What runs validation and the linear probe's feature pass besides libtorch (ONNX Runtime over the exported graph,
    /// made by the API from training.eval_engine); null: libtorch alone.
    /// </summary>
    public IEvalEngine? EvalEngine { get; init; }

    /// <summary>
    /// No epoch starts that would end after this time (UTC), judged by the last epoch's duration: a time budget ends
    /// training after a whole epoch, with its checkpoints, instead of cutting one. Single-process runs only (ranks would
    /// have to agree on it); null: no deadline.
    /// </summary>
    public DateTime? EpochDeadline { get; init; }

    /// <summary>The most training.cache_activations may hold, in bytes; null: a third of the memory available when it fills.</summary>
    public long? ActivationCacheBytes { get; init; }

    /// <summary>No words, no stop, one process on the CPU.</summary>
    public static RunContext Silent() => new(ProgressReporter.Silent());
}
