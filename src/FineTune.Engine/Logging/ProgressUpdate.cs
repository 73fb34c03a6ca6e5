namespace FineTune.Logging;

/// <summary>What long work is doing, for a progress bar: reported through an <see cref="IProgress{T}"/> after every batch.</summary>
public enum ProgressPhase
{
    /// <summary>A training epoch (loss and accuracy on the batches so far).</summary>
    Training,
    /// <summary>Validation after an epoch.</summary>
    Validation,
    /// <summary>The linear probe's pass over frozen features (no loss or accuracy yet).</summary>
    Features,
    /// <summary>The test pass of <see cref="Experiment.Test"/>.</summary>
    Test,
}

/// <summary>
/// One step of a phase: <see cref="Done"/> of <see cref="Total"/> batches. <see cref="Loss"/> and <see cref="Accuracy"/>
/// are the means so far, NaN where the phase computes neither. <see cref="Label"/> is the line the command line shows
/// (e.g. "Epoch 2/10 train").
/// </summary>
public sealed record ProgressUpdate(ProgressPhase Phase, string Label, int Done, int Total, double Loss, double Accuracy,
                                    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining)
{
    /// <summary>Whether this is the phase's last step.</summary>
    public bool Finished => Done >= Total;
}
