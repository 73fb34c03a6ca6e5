using FineTune.Config;
using FineTune.Models;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// training.refit_head (issue 21): after the last epoch the head is fitted again from zero, as the linear probe fits it, on
/// the fine-tuned backbone's features. The refit must be exactly that fit, leave the epochs untouched, and become
/// checkpoint_best only when its held-out validation accuracy beats the best epoch's.
/// </summary>
[Collection("single-threaded training")]
public class RefitHeadTests
{
    static FineTuneConfig Config(bool refitHead, bool withVal = false) =>
        Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { LinearProbeEpochs = 8, LinearProbeLr = 1e-2, RefitHead = refitHead, LinearProbeRefitWithVal = withVal });

    static ResNet Trained(FineTuneConfig config, out TrainingResult result)
    {
        var model = Tiny.Model();
        using var data = Tiny.Data(config);
        result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), data, RunContext.Silent()).Run();
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        return model;
    }

    static ResNet Loaded(string path)
    {
        var model = Tiny.Model();
        CheckpointFile.Load(path).LoadModelInto(model);
        return model;
    }

    [Fact]
    public void The_refitted_head_is_the_probes_fit_on_the_trained_backbone_and_is_kept_only_when_it_validates_higher()
    {
        set_num_threads(1);
        var plainConfig = Config(refitHead: false);
        using var epochsOnly = Trained(plainConfig, out var plain);
        using var plainBest = Loaded(plain.BestCheckpoint!);
        using var refitted = Trained(Config(refitHead: true), out var refit);

        // The reference: the epochs-only model's head fitted again by the probe, on that model's own features.
        LinearProbe.Outcome reference;
        using (var data = Tiny.Data(plainConfig))
            reference = new LinearProbe(epochsOnly, plainConfig.Training, ProgressReporter.Silent()).Run(data.TrainUnaugmented ?? data.Train, data.Val, plainConfig.Data.Seed)!;
        Assert.Equal(0, Tiny.MaxDifference(refitted, epochsOnly));
        // The epochs themselves are the same: the refit comes after them and changes only the head.
        Assert.Equal(plain.History.Select(r => r.ValAccuracy), refit.History.Select(r => r.ValAccuracy));
        Assert.True(Tiny.MaxDifference(refitted, plainBest) > 1e-5, "the refit left the head as the epochs made it");

        using var refitBest = Loaded(refit.BestCheckpoint!);
        if (reference.ValAccuracy > plain.BestValAccuracy)
        {
            Assert.Equal(reference.ValAccuracy, refit.BestValAccuracy);
            Assert.Equal(0, Tiny.MaxDifference(refitBest, refitted));
        }
        else
        {
            Assert.Equal(plain.BestValAccuracy, refit.BestValAccuracy);
            Assert.Equal(0, Tiny.MaxDifference(refitBest, plainBest));
        }
    }

    [Fact]
    public void With_refit_with_val_the_kept_head_is_fitted_on_training_and_validation_features_and_the_probe_before_the_epochs_is_not()
    {
        set_num_threads(1);
        var plainConfig = Config(refitHead: false);
        using var epochsOnly = Trained(plainConfig, out var plain);
        using var refitted = Trained(Config(refitHead: true, withVal: true), out var refit);

        // Had the probe before the epochs learned from the validation images, the epochs would differ.
        Assert.Equal(plain.History.Select(r => r.ValAccuracy), refit.History.Select(r => r.ValAccuracy));
        LinearProbe.Outcome heldOut;
        using (var data = Tiny.Data(plainConfig))
            heldOut = new LinearProbe(epochsOnly, plainConfig.Training, ProgressReporter.Silent()) { RefitWithVal = true }
                .Run(data.TrainUnaugmented ?? data.Train, data.Val, plainConfig.Data.Seed)!;
        Assert.Equal(0, Tiny.MaxDifference(refitted, epochsOnly));
        // The validation figure the run keeps is the held-out fit's, never the refit's own.
        Assert.Equal(Math.Max(plain.BestValAccuracy, heldOut.ValAccuracy), refit.BestValAccuracy);
    }
}
