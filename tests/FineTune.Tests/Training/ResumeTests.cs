using FineTune.Training;
using FineTune.Training.Checkpoints;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>A resumed run must reach the weights an uninterrupted run reaches (single thread, same seed).</summary>
[Collection("single-threaded training")]
public class ResumeTests(Xunit.Abstractions.ITestOutputHelper log)
{
    static ResNetResult Train(string root, int epochs, CheckpointFile? resume = null, CancellationTokenSource? stop = null, int stopAfterBatch = -1)
    {
        var config = Tiny.Config(root, epochs);
        var model = Tiny.Model();
        var data = Tiny.Data(config);
        if (stopAfterBatch >= 0)
            data = data with { Train = new InterceptingSource(data.Train, (epoch, b, batch) => { if (epoch == 1 && b == stopAfterBatch) stop!.Cancel(); return batch; }) };
        var result = new Trainer(config, new ModelToTrain(model, FineTune.Weights.Preprocessing.ImageNet), data, RunContext.Silent() with { Stop = stop?.Token ?? default }).Run(resume);
        return new ResNetResult(model, result);
    }

    sealed record ResNetResult(FineTune.Models.ResNet Model, TrainingResult Result);

    [Fact]
    public void Two_epochs_equal_one_epoch_then_resume_for_one()
    {
        set_num_threads(1);
        var straight = Train(Tiny.TempFolder(), 2);
        var root = Tiny.TempFolder();
        var first = Train(root, 1);
        Assert.Equal(TrainingOutcome.Completed, first.Result.Outcome);
        var checkpoint = CheckpointFile.Load(Path.Combine(root, "ckpt", "tiny", "checkpoint_epoch_1.ckpt"));
        Assert.Equal(1, checkpoint.Info.Epoch);
        var resumed = Train(root, 2, checkpoint);

        Assert.Equal(2, resumed.Result.LastEpoch);
        Assert.True(Tiny.MaxDifference(straight.Model, first.Model) > 1e-4, "one epoch must differ from two, or the test proves nothing");
        var difference = Tiny.MaxDifference(straight.Model, resumed.Model);
        log.WriteLine($"largest difference after 2 epochs vs 1 + resume 1: {difference:G3}");
        Assert.True(difference <= 1e-6);
        Assert.Equal(straight.Result.History.Select(h => h.ValLoss), resumed.Result.History.Select(h => h.ValLoss));
    }

    [Fact]
    public void A_stop_mid_epoch_writes_a_checkpoint_that_resumes_to_the_same_weights()
    {
        set_num_threads(1);
        var straight = Train(Tiny.TempFolder(), 2);
        var root = Tiny.TempFolder();
        using var stop = new CancellationTokenSource();
        var interrupted = Train(root, 2, stop: stop, stopAfterBatch: 1);
        Assert.Equal(TrainingOutcome.Interrupted, interrupted.Result.Outcome);
        Assert.Contains("--resume", interrupted.Result.Message);

        var checkpoint = CheckpointFile.Load(Path.Combine(root, "ckpt", "tiny", "checkpoint_interrupted.ckpt"));
        Assert.Equal(0, checkpoint.Info.Epoch);
        Assert.Equal(2, checkpoint.Info.Partial!.BatchesDone); // the step in flight when the stop came was finished
        var resumed = Train(root, 2, checkpoint);

        Assert.Equal(TrainingOutcome.Completed, resumed.Result.Outcome);
        var difference = Tiny.MaxDifference(straight.Model, resumed.Model);
        log.WriteLine($"largest difference after a mid-epoch stop and resume: {difference:G3}");
        Assert.True(difference <= 1e-6);
        Assert.Equal(straight.Result.History.Select(h => h.TrainLoss), resumed.Result.History.Select(h => h.TrainLoss));
    }
}

[CollectionDefinition("single-threaded training", DisableParallelization = true)]
public class SingleThreadedTraining;
