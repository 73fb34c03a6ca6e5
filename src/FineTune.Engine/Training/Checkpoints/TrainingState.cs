using FineTune.Evaluation;

namespace FineTune.Training.Checkpoints;

/// <summary>
/// Where training stands: the part of a checkpoint that changes as training goes, the seed's epoch, best_acc and
/// history plus what a resume needs to continue on the very step it stopped at. A checkpoint holds this, the model's
/// and the optimizer's tensors, the schedule's state and what was trained on what (<see cref="CheckpointInfo"/>);
/// keeping it in one object is what lets a resumed run end with the same numbers as one that never stopped.
/// </summary>
public sealed class TrainingState
{
    /// <summary>Completed epochs (the 1-based number of the last complete one).</summary>
    public int EpochsDone { get; private set; }

    /// <summary>Set while the run stands inside epoch <see cref="EpochsDone"/> + 1 (stopped part way).</summary>
    public PartialEpoch? Partial { get; set; }

    /// <summary>Optimizer steps taken over the whole run: TensorBoard's x axis for per-step scalars.</summary>
    public long GlobalStep { get; set; }

    /// <summary>The best validation accuracy so far; -inf before any epoch, so the first one always counts as an improvement.</summary>
    public double BestValAccuracy { get; private set; } = double.NegativeInfinity;

    public int BestEpoch { get; private set; }

    /// <summary>Epochs since <see cref="BestEpoch"/>: what training.early_stopping counts.</summary>
    public int EpochsWithoutImprovement { get; private set; }

    public List<EpochRecord> History { get; } = [];

    /// <summary>The state a checkpoint was saved in.</summary>
    public static TrainingState From(CheckpointInfo info)
    {
        var state = new TrainingState
        {
            EpochsDone = info.Epoch,
            Partial = info.Partial,
            GlobalStep = info.GlobalStep,
            // A checkpoint saved before any epoch finished stores 0; -inf keeps "the next epoch improves" true.
            BestValAccuracy = info.BestEpoch > 0 ? info.BestValAccuracy : double.NegativeInfinity,
            BestEpoch = info.BestEpoch,
            EpochsWithoutImprovement = info.EpochsWithoutImprovement,
        };
        state.History.AddRange(info.History);
        return state;
    }

    /// <summary><paramref name="info"/> with this state written into it (a copy of the history, since training goes on).</summary>
    public CheckpointInfo WriteInto(CheckpointInfo info) => info with
    {
        Epoch = EpochsDone,
        Partial = Partial,
        GlobalStep = GlobalStep,
        BestValAccuracy = Math.Max(0, BestValAccuracy),
        BestEpoch = BestEpoch,
        EpochsWithoutImprovement = EpochsWithoutImprovement,
        History = [.. History],
    };

    /// <summary>Counts epoch <paramref name="epoch"/>'s validation accuracy; true when it beats every earlier epoch.</summary>
    public bool Validated(int epoch, double valAccuracy)
    {
        bool improved = valAccuracy > BestValAccuracy;
        if (improved) { BestValAccuracy = valAccuracy; BestEpoch = epoch; EpochsWithoutImprovement = 0; }
        else EpochsWithoutImprovement++;
        return improved;
    }

    /// <summary>Epoch <paramref name="record"/>.Epoch is complete: no partial epoch any more, and its numbers join the history.</summary>
    public void Completed(EpochRecord record)
    {
        EpochsDone = record.Epoch;
        Partial = null;
        History.Add(record);
    }

    /// <summary>Stopped after <paramref name="epochsDone"/> complete epochs and, when set, part way into the next.</summary>
    public void StoppedAt(int epochsDone, PartialEpoch? partial)
    {
        EpochsDone = epochsDone;
        Partial = partial;
    }
}
