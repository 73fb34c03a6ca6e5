using FineTune.Models;
using FineTune.Weights;

namespace FineTune.Training;

/// <summary>
/// The network a run trains and what came with it: the preprocessing its weights expect, where those weights came from
/// and whether its head is already trained for the data's classes.
/// </summary>
public sealed record ModelToTrain(ResNet Network, Preprocessing Preprocessing)
{
    /// <summary>
    /// Where training starts, in words, for the checkpoints (<see cref="Checkpoints.CheckpointInfo.StartingWeights"/>); null: as
    /// model.weights or model.pretrained say. A resume takes its checkpoint's, so a continued run keeps its provenance.
    /// </summary>
    public string? StartingWeights { get; init; }

    /// <summary>
    /// The head came trained for these very classes (from a checkpoint, <see cref="Checkpoints.StartingCheckpoint"/>): the
    /// linear probe is skipped, since it fits the head from zero (<see cref="LinearProbe"/>) and would throw the trained one away.
    /// </summary>
    public bool HeadTrained { get; init; }
}
