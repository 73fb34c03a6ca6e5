using FineTune.Evaluation;
using FineTune.Training.Checkpoints;
using Xunit;

namespace FineTune.Tests.Training;

/// <summary>Where training stands, as a checkpoint stores it: what a resume reads back must be what was written.</summary>
public class TrainingStateTests
{
    static EpochRecord Record(int epoch, double valAccuracy) => new(epoch, 1.0 / epoch, 0.5, 0.9, valAccuracy, [1e-3, 1e-2], 2.5);

    [Fact]
    public void Best_epoch_and_epochs_without_improvement_follow_validation_accuracy()
    {
        var state = new TrainingState();
        Assert.True(state.Validated(1, 0.0), "the first epoch improves on nothing, even at 0%");
        Assert.True(state.Validated(2, 0.6));
        Assert.False(state.Validated(3, 0.6), "a tie is no improvement");
        Assert.False(state.Validated(4, 0.5));
        Assert.Equal(2, state.BestEpoch);
        Assert.Equal(0.6, state.BestValAccuracy);
        Assert.Equal(2, state.EpochsWithoutImprovement);
    }

    [Fact]
    public void A_checkpoint_gives_back_the_state_it_was_written_from()
    {
        var state = new TrainingState();
        state.Validated(1, 0.4); state.Completed(Record(1, 0.4));
        state.Validated(2, 0.3); state.Completed(Record(2, 0.3));
        state.GlobalStep = 17;
        state.StoppedAt(2, new PartialEpoch(3, 4.5, 6, 24));

        var info = state.WriteInto(new CheckpointInfo { Reason = "interrupted", Backbone = "resnet18" });
        Assert.Equal("interrupted", info.Reason);
        Assert.Equal("resnet18", info.Backbone);
        var back = TrainingState.From(info);
        Assert.Equal(2, back.EpochsDone);
        Assert.Equal(new PartialEpoch(3, 4.5, 6, 24), back.Partial);
        Assert.Equal(17, back.GlobalStep);
        Assert.Equal(0.4, back.BestValAccuracy);
        Assert.Equal(1, back.BestEpoch);
        Assert.Equal(1, back.EpochsWithoutImprovement);
        Assert.Equal(state.History, back.History);

        state.Completed(Record(3, 0.2));
        Assert.Equal(2, info.History.Count); // a written checkpoint keeps its own copy of the history
        Assert.Null(state.Partial);
    }

    [Fact]
    public void Before_any_epoch_the_best_accuracy_is_stored_as_zero_and_read_back_as_none()
    {
        var info = new TrainingState().WriteInto(new CheckpointInfo());
        Assert.Equal(0, info.BestValAccuracy);
        Assert.Equal(0, info.BestEpoch);
        Assert.True(TrainingState.From(info).Validated(1, 0.0), "after a resume the first epoch still counts as the best so far");
    }
}
