using FineTune.Evaluation;
using FineTune.Training.Checkpoints;

namespace FineTune.Training;

public enum TrainingOutcome { Completed, EarlyStopped, Interrupted, Diverged }

/// <summary>How a run ended: its outcome, best epoch, where the checkpoints are, and the per-epoch history.</summary>
public sealed record TrainingResult(
    TrainingOutcome Outcome,
    string Message,
    int LastEpoch,
    int BestEpoch,
    double BestValAccuracy,
    string? BestCheckpoint,
    string? LastCheckpoint,
    IReadOnlyList<EpochRecord> History,
    TimeSpan Elapsed)
{
    /// <summary>For an interrupted run, what stopped it (a signal's name such as SIGTERM, or <see cref="Training.StopReason.Cancelled"/>); null otherwise.</summary>
    public string? StopReason { get; init; }
}
