using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// training.cache_activations (issue 21, item 3): the frozen stages' output for epoch 1's views, replayed by later epochs.
/// The synthetic images have fixed views (no augmentation), so a run from the cache must end where a run that
/// recomputes every epoch ends, and the data source must not be read after the first epoch.
/// </summary>
[Collection("single-threaded training")]
public class ActivationCacheTests(ITestOutputHelper output)
{
    /// <summary>A replayed batch is the very tensor the frozen stages gave, so the runs should agree to the bit; the bar allows for a kernel picking another blocking for a gathered (differently strided) input.</summary>
    const double Bar = 1e-6;

    sealed record Run(FineTune.Models.ResNet Model, TrainingResult Result, string Log, int[] BatchesReadPerEpoch);

    static Run Train(string root, bool cache, long? budget = null, bool channelsLast = true, CheckpointFile? resume = null, CancellationTokenSource? stop = null, int epochs = 3)
    {
        var config = Tiny.Config(root, epochs, t => t with { FreezeStages = 2, CacheActivations = cache, ChannelsLast = channelsLast });
        var model = Tiny.Model();
        var read = new int[epochs + 1];
        var data = Tiny.Data(config);
        data = data with
        {
            Train = new InterceptingSource(data.Train, (epoch, b, batch) =>
            {
                read[epoch]++;
                if (stop is not null && epoch == 1 && b == data.Train.BatchCount - 1) stop.Cancel(); // the run stops after epoch 1
                return batch;
            }),
        };
        var log = new StringWriter();
        var context = new RunContext(new ProgressReporter(log)) { ActivationCacheBytes = budget, Stop = stop?.Token ?? default };
        var result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), data, context).Run(resume);
        return new Run(model, result, log.ToString(), read);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void With_fixed_views_a_run_from_the_cache_ends_where_one_that_recomputes_ends(bool channelsLast)
    {
        set_num_threads(1);
        var recomputed = Train(Tiny.TempFolder(), cache: false, channelsLast: channelsLast);
        var cached = Train(Tiny.TempFolder(), cache: true, channelsLast: channelsLast);

        output.WriteLine(cached.Log);
        Assert.Matches(@"training.cache_activations: the frozen stages' output for \d+ training images \(epoch 1's views\) is kept in memory", cached.Log);
        Assert.True(cached.BatchesReadPerEpoch[1] > 0);
        Assert.Equal(0, cached.BatchesReadPerEpoch[2] + cached.BatchesReadPerEpoch[3]); // epochs 2 and 3 came from the cache
        Assert.True(recomputed.BatchesReadPerEpoch[3] > 0);
        double difference = Tiny.MaxDifference(recomputed.Model, cached.Model);
        output.WriteLine($"largest weight difference after 3 epochs, cached vs recomputed: {difference:G3} (bar {Bar})");
        Assert.True(difference <= Bar, $"the cached run ends {difference:G3} away from the recomputed one");
        Assert.Equal(recomputed.Result.History.Select(h => h.TrainLoss), cached.Result.History.Select(h => h.TrainLoss));
    }

    [Fact]
    public void A_cache_that_does_not_fit_its_budget_says_so_in_one_line_and_the_run_recomputes()
    {
        set_num_threads(1);
        var recomputed = Train(Tiny.TempFolder(), cache: false);
        var refused = Train(Tiny.TempFolder(), cache: true, budget: 1000);

        output.WriteLine(refused.Log);
        var line = Assert.Single(refused.Log.Split('\n'), l => l.Contains("cache_activations"));
        Assert.Matches(@"training.cache_activations: the frozen stages' output for \d+ training images, \[128, \d+, \d+\] each", line);
        Assert.Contains("more than the cache may use (0.0 GB)", line);
        Assert.Contains("every epoch computes them from the images instead", line);
        Assert.True(refused.BatchesReadPerEpoch[3] > 0);
        Assert.Equal(0, Tiny.MaxDifference(recomputed.Model, refused.Model));
    }

    [Fact]
    public void A_run_resumed_after_epoch_1_refills_the_cache_from_epoch_1s_views_and_ends_as_an_uninterrupted_one()
    {
        set_num_threads(1);
        var straight = Train(Tiny.TempFolder(), cache: true);
        var root = Tiny.TempFolder();
        using var stop = new CancellationTokenSource();
        var interrupted = Train(root, cache: true, stop: stop);
        Assert.Equal(TrainingOutcome.Interrupted, interrupted.Result.Outcome);

        var checkpoint = CheckpointFile.Load(Path.Combine(root, "ckpt", "tiny", "checkpoint_interrupted.ckpt"));
        var resumed = Train(root, cache: true, resume: checkpoint);

        output.WriteLine(resumed.Log);
        Assert.Contains("a resumed run starts with an empty cache", resumed.Log);
        Assert.True(resumed.BatchesReadPerEpoch[1] > 0, "the refill reads epoch 1's views");
        double difference = Tiny.MaxDifference(straight.Model, resumed.Model);
        output.WriteLine($"largest weight difference, uninterrupted vs resumed: {difference:G3} (bar {Bar})");
        Assert.True(difference <= Bar);
    }
}
