using FineTune.Config;
using FineTune.Training;
using FineTune.Weights;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// training.linear_probe_from_cache (issue 21): the probe trains on the features of the pass that fills the activation
/// cache, so the training images are read once for the whole run and the probe reads no validation image. The synthetic
/// images have fixed views (no augmentation) and one size, so the probe's own pass over the unaugmented images sees the
/// same pictures: the two runs must end in the same place, up to BatchNorm folded or not in the frozen stages.
/// </summary>
[Collection("single-threaded training")]
public class ProbeFromCacheTests(ITestOutputHelper output)
{
    /// <summary>
    /// The probe's own pass folds every BatchNorm into its convolution; the cache's pass computes the frozen stages unfolded
    /// (as training does). In fp32 that moves features by ~1e-6 of their size, and AdamW turns such differences in
    /// near-zero gradient components into whole steps (2e-2 after the probe and two epochs here), so these runs compute
    /// in fp64 (training.precision: fp64), where the two orders of operations agree to ~1e-15 and the runs must agree far
    /// below anything a wrong view, order or label would move.
    /// </summary>
    const double Bar = 1e-6;

    sealed record Run(FineTune.Models.ResNet Model, TrainingResult Result, string Log, int[] TrainReads, int[] ValReads);

    static Run Train(bool fromCache, int epochs = 2, long? budget = null, bool? validate = null)
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs, t => t with
        {
            FreezeStages = 2, CacheActivations = true, LinearProbeEpochs = 5, LinearProbeLr = 1e-2, LinearProbeFromCache = fromCache,
            LinearProbeValidate = validate ?? !fromCache, // as configs/resnet18_onepass_cpu.yaml: the cached probe leaves validation to epoch 1
            Precision = PrecisionSetting.Fp64,
        });
        var model = Tiny.Model();
        var trainReads = new int[epochs + 2];
        var valReads = new int[epochs + 2];
        var data = Tiny.Data(config);
        data = data with
        {
            Train = new InterceptingSource(data.Train, (epoch, _, batch) => { trainReads[epoch]++; return batch; }),
            Val = new InterceptingSource(data.Val, (_, _, batch) => { valReads[0]++; return batch; }),
        };
        var log = new StringWriter();
        var context = new RunContext(new ProgressReporter(log)) { ActivationCacheBytes = budget };
        var result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), data, context).Run();
        data.Dispose();
        return new Run(model, result, log.ToString(), trainReads, valReads);
    }

    [Fact]
    public void With_fixed_views_the_probe_from_the_cache_ends_where_the_probes_own_pass_ends_and_reads_the_images_once()
    {
        set_num_threads(1);
        var ownPass = Train(fromCache: false);
        var fromCache = Train(fromCache: true);
        output.WriteLine(fromCache.Log);

        Assert.Matches(@"Linear probe: 5 epochs on the frozen backbone's features of \d+ training images: train [\d.]+%, val not measured \(epoch 1 validates\)", fromCache.Log);
        Assert.Contains("training.cache_activations: the frozen stages' output for", fromCache.Log);
        int batches = fromCache.TrainReads[1];
        Assert.True(batches > 0);
        Assert.Equal(0, fromCache.TrainReads[2]);                          // epoch 2 replayed; epoch 1 too, since its one read was the probe's pass
        Assert.Equal(2 * batches, ownPass.TrainReads[1]);                  // the probe's own pass, then epoch 1
        Assert.True(ownPass.ValReads[0] > fromCache.ValReads[0], "the probe's own pass reads validation; the cached one leaves it to the epochs");
        Assert.Equal(2, fromCache.Result.History.Count);

        double difference = Tiny.MaxDifference(ownPass.Model, fromCache.Model);
        output.WriteLine($"largest weight difference after the probe and 2 epochs, probe from the cache vs its own pass: {difference:G3} (bar {Bar})");
        Assert.True(difference <= Bar, $"the probe from the cache ends {difference:G3} away from the probe's own pass");
    }

    [Fact]
    public void When_the_cache_does_not_fit_the_probe_still_trains_on_the_views_and_the_epochs_read_the_images()
    {
        set_num_threads(1);
        var refused = Train(fromCache: true, budget: 1000);
        output.WriteLine(refused.Log);
        Assert.Contains("every epoch computes them from the images instead", refused.Log);
        Assert.Contains("val not measured", refused.Log);
        Assert.True(refused.TrainReads[2] > 0);
        Assert.Equal(2 * refused.TrainReads[2], refused.TrainReads[1]); // the probe's pass and epoch 1
    }

    [Fact]
    public void A_probe_only_run_from_the_cache_is_scored_on_validation_and_kept_as_epoch_0()
    {
        set_num_threads(1);
        var probeOnly = Train(fromCache: true, epochs: 0);
        output.WriteLine(probeOnly.Log);
        Assert.Matches(@"train [\d.]+%, val [\d.]+%", probeOnly.Log);
        var epoch0 = Assert.Single(probeOnly.Result.History);
        Assert.Equal(0, epoch0.Epoch);
        Assert.False(double.IsNaN(epoch0.ValAccuracy));
        Assert.NotNull(probeOnly.Result.BestCheckpoint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Linear_probe_validate_false_saves_the_probes_pass_over_validation_with_either_source_of_features(bool fromCache)
    {
        set_num_threads(1);
        var scored = Train(fromCache, validate: true);
        var unscored = Train(fromCache, validate: false);
        output.WriteLine(scored.Log);
        output.WriteLine(unscored.Log);
        Assert.Matches(@"train [\d.]+%, val [\d.]+% \(features", scored.Log);
        Assert.Contains("val not measured (epoch 1 validates)", unscored.Log);
        int epochsValBatches = unscored.ValReads[0]; // the two epochs' validation only
        Assert.True(epochsValBatches > 0 && epochsValBatches % 2 == 0);
        Assert.Equal(epochsValBatches + epochsValBatches / 2, scored.ValReads[0]); // and one pass more for the probe
        Assert.Equal(scored.TrainReads, unscored.TrainReads);
        Assert.Equal(0, Tiny.MaxDifference(scored.Model, unscored.Model)); // scoring the probe changes nothing it trains
    }
}
