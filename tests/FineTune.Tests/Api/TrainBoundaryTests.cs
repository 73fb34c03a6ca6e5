using FineTune.Config;
using FineTune.Data;
using FineTune.Tests.Training;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using Xunit;

namespace FineTune.Tests.Api;

/// <summary>
/// What <see cref="Experiment.Train"/> refuses before it trains, each checked there once (the trainer inside trusts it),
/// and the data it opens, disposed however training ends.
/// </summary>
[Collection(RestoresKernelPlan.Collection)]
public class TrainBoundaryTests : RestoresKernelPlan
{
    [Fact]
    public void An_output_folder_that_cannot_be_created_fails_before_the_data_opens()
    {
        var root = Tiny.TempFolder();
        var blocker = Path.Combine(root, "a-file");
        File.WriteAllText(blocker, "not a folder");
        var config = Tiny.Config(root, epochs: 1);
        config = config with { Experiment = config.Experiment with { CheckpointDir = Path.Combine(blocker, "ckpt") } };
        bool opened = false;
        var options = new TrainOptions { Data = (c, _) => { opened = true; return Tiny.Data(c); } };
        var e = Assert.Throws<OutputNotWritableException>(() => Experiment.Train(config, options));
        Assert.Contains(blocker, e.Message);
        Assert.Contains("experiment.checkpoint_dir", e.Message);
        Assert.False(opened);
    }

    [Fact]
    public void Resuming_a_checkpoint_of_another_backbone_says_so()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1);
        var trained = Experiment.Train(config, new TrainOptions { Data = (c, _) => Tiny.Data(c) });
        var other = config with { Model = config.Model with { Backbone = "resnet34" } };
        var e = Assert.Throws<CheckpointException>(() =>
            Experiment.Train(other, new TrainOptions { ResumeFrom = trained.BestCheckpoint, Data = (c, _) => Tiny.Data(c) }));
        Assert.Contains("resnet34", e.Message);
    }

    [Fact]
    public void A_class_count_that_does_not_match_the_data_is_a_config_error()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1);
        var options = new TrainOptions { Data = (c, _) => Tiny.Data(c) with { ClassNames = ["a", "b"] } };
        var e = Assert.Throws<ConfigException>(() => Experiment.Train(config, options));
        Assert.Contains("model.num_classes", e.Message);
    }

    [Fact]
    public void The_data_is_disposed_when_training_throws()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1);
        DisposalCounter? train = null, val = null;
        var options = new TrainOptions
        {
            Data = (c, _) =>
            {
                var data = Tiny.Data(c);
                train = new DisposalCounter(new InterceptingSource(data.Train, (_, b, batch) =>
                    b == 1 ? throw new InvalidOperationException("a loader that fails mid-epoch") : batch));
                val = new DisposalCounter(data.Val);
                return data with { Train = train, Val = val };
            },
        };
        Assert.Throws<InvalidOperationException>(() => Experiment.Train(config, options));
        Assert.Equal(1, train!.Disposals);
        Assert.Equal(1, val!.Disposals);
    }

    sealed class DisposalCounter(IBatchSource inner) : IBatchSource
    {
        public int Disposals { get; private set; }
        public int ImageCount => inner.ImageCount;
        public int BatchCount => inner.BatchCount;
        public IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0) => inner.Epoch(epoch, skipBatches);

        public void Dispose()
        {
            Disposals++;
            inner.Dispose();
        }
    }
}
