using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Training;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// training.linear_probe_refit_with_val (issue 21): a probe-only run scores its probe on validation, then fits it again
/// on the training and validation features together and keeps that fit. The validation figure must stay the held-out
/// one, and the kept head must be exactly a fit on both splits' features, nothing else.
/// </summary>
[Collection("single-threaded training")]
public class ProbeRefitTests
{
    static Tensor Features(FineTune.Models.ResNet model, IBatchSource source, out Tensor labels)
    {
        var features = new List<Tensor>();
        var all = new List<Tensor>();
        new EvalPass(model, CPU, channelsLast: false, EvalOutput.Features).Run(source.Epoch(1), (batch, f) =>
        {
            features.Add(f.detach().clone().MoveToOuterDisposeScope());
            all.Add(batch.Labels.clone().MoveToOuterDisposeScope());
        });
        labels = cat(all, 0);
        return cat(features, 0);
    }

    [Fact]
    public void The_kept_head_is_a_fit_on_training_and_validation_features_and_the_val_score_is_the_held_out_fits()
    {
        set_num_threads(1);
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 0, t => t with { LinearProbeEpochs = 8, LinearProbeLr = 1e-2 });
        var refitConfig = config with { Training = config.Training with { LinearProbeRefitWithVal = true } };
        using var data = Tiny.Data(config);

        using var plain = Tiny.Model();
        var held = new LinearProbe(plain, config.Training, ProgressReporter.Silent()).Run(data.Train, data.Val, seed: 3)!;
        using var refitted = Tiny.Model();
        var refit = new LinearProbe(refitted, refitConfig.Training, ProgressReporter.Silent()).Run(data.Train, data.Val, seed: 3)!;

        // The figures reported are the first fit's: the same as a run without the refit, to the bit.
        Assert.Equal(held.ValAccuracy, refit.ValAccuracy);
        Assert.Equal(held.ValLoss, refit.ValLoss);
        Assert.Equal(held.TrainAccuracy, refit.TrainAccuracy);
        Assert.Equal(0, held.RefitImages);
        Assert.Equal(data.Train.ImageCount + data.Val.ImageCount, refit.RefitImages);
        Assert.Contains($"Then fitted again on the {refit.RefitImages} training + validation images", refit.ToString());

        // The kept head: what the probe fits on the two splits' features concatenated (training first), from zero, same seed.
        using var reference = Tiny.Model();
        using var trainFeatures = Features(reference, data.Train, out var trainLabels);
        using var valFeatures = Features(reference, data.Val, out var valLabels);
        using var both = cat([trainFeatures, valFeatures], 0);
        using var bothLabels = cat([trainLabels, valLabels], 0);
        new LinearProbe(reference, config.Training, ProgressReporter.Silent()).RunOn(both, bothLabels, val: null, seed: 3, TimeSpan.Zero);
        Assert.Equal(0, Tiny.MaxDifference(refitted, reference));
        // ... and not the held-out fit's head: the refit changed something.
        Assert.True(Tiny.MaxDifference(refitted, plain) > 1e-4, $"refitted head equals the held-out fit's ({Tiny.MaxDifference(refitted, plain)})");
    }

    /// <summary>training.linear_probe_flip: false keeps mirror images out of the probe's features while eval_flip stays on for the rest.</summary>
    [Fact]
    public void Linear_probe_flip_false_fits_the_probe_on_each_image_once_while_eval_flip_is_on()
    {
        set_num_threads(1);
        FineTune.Config.FineTuneConfig Config(bool probeFlip)
        {
            var c = Tiny.Config(Tiny.TempFolder(), epochs: 0, t => t with { LinearProbeEpochs = 8, LinearProbeLr = 1e-2, LinearProbeFlip = probeFlip });
            return c with { Data = c.Data with { Augmentation = c.Data.Augmentation with { EvalFlip = true } } };
        }
        FineTune.Models.ResNet Trained(FineTune.Config.FineTuneConfig config)
        {
            var model = Tiny.Model();
            using var data = Tiny.Data(config);
            var result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), data, RunContext.Silent()).Run();
            Assert.Equal(TrainingOutcome.Completed, result.Outcome);
            return model;
        }
        var once = Config(probeFlip: false);
        using var plain = Trained(once);
        using var mirrored = Trained(Config(probeFlip: true));

        using var reference = Tiny.Model();
        using (var data = Tiny.Data(once))
            new LinearProbe(reference, once.Training, ProgressReporter.Silent(), flipAverage: false).Run(data.TrainUnaugmented ?? data.Train, data.Val, once.Data.Seed);
        Assert.Equal(0, Tiny.MaxDifference(plain, reference));
        Assert.True(Tiny.MaxDifference(plain, mirrored) > 1e-5, "the probe fitted on mirror-averaged features came out the same");
    }
}
