using FineTune.Training;
using FineTune.Tests.Training;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Planning;

/// <summary>
/// How a time budget is kept without timing anything in a test: the trainer starts no epoch that its last epoch's
/// duration says would end after <see cref="Trainer.EpochDeadline"/>, and ends early-stopped with its best checkpoint.
/// </summary>
public sealed class EpochDeadlineTests
{
    static TrainingResult Run(DateTime? deadline)
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 3);
        using var model = Tiny.Model();
        var data = Tiny.Data(config);
        return new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), data, RunContext.Silent() with { EpochDeadline = deadline }).Run();
    }

    [Fact]
    public void A_deadline_already_passed_stops_after_the_first_epoch_with_a_best_checkpoint()
    {
        var result = Run(DateTime.UtcNow);
        Assert.Equal((TrainingOutcome.EarlyStopped, 1), (result.Outcome, result.LastEpoch));
        Assert.Contains("Stopped after epoch 1 of 3: another epoch", result.Message);
        Assert.Contains("would end after the time budget's deadline", result.Message);
        Assert.True(File.Exists(result.BestCheckpoint), "the best checkpoint of the epoch that ran");
    }

    [Fact]
    public void A_deadline_far_away_lets_every_planned_epoch_run()
    {
        var result = Run(DateTime.UtcNow.AddHours(1));
        Assert.Equal((TrainingOutcome.Completed, 3), (result.Outcome, result.LastEpoch));
    }
}
