using FineTune.Config;
using FineTune.Data;
using FineTune.Reports;
using FineTune.Training.Checkpoints;
using Xunit;

namespace FineTune.Tests.Reports;

/// <summary>report.html's run card states the split the model was trained on and how it was trained.</summary>
public class RunCardTests
{
    [Fact]
    public void The_run_card_shows_the_split_hash_and_the_recipe_read_from_the_checkpoint()
    {
        var run = new ReportRun(classes: 3, perClass: 12);
        var html = run.Html;

        var hash = FolderTrainingData.ManifestHash(run.Experiment.ExperimentDir);
        Assert.Contains($"<dt>Split</dt><dd><span class=\"path\">{hash[..12]}</span>", html);
        // FolderExperiment's config: num_epochs 1, batch 8, 32 px, the other training keys at their defaults.
        Assert.Contains("<dt>Recipe</dt><dd>optimizer: adamw, base_lr: 0.0001, fc_lr_multiplier: 1, weight_decay: 0.0001, scheduler: reduce_lr_on_plateau, " +
                        "num_epochs: 1, linear_probe_epochs: 0, freeze_stages: 0, batch_size: 8, image_size: 32 (evaluation 32)</dd>", html);
        // What ran the test pass: ONNX Runtime (training.eval_engine auto, fp32 on the CPU), once it matched libtorch.
        Assert.Matches(@"<dt>Evaluation</dt><dd>ONNX Runtime 1\.\d+\.\d+ over the exported graph \(first batch within [0-9.Ee+-]+ of libtorch&#39;s largest output\)</dd>", html);
    }

    [Fact]
    public void The_recipe_states_keys_set_away_from_their_defaults_and_says_what_is_missing_without_a_config()
    {
        var config = FineTuneConfig.Defaults with
        {
            Training = FineTuneConfig.Defaults.Training with
            {
                WarmupEpochs = 2, LabelSmoothing = 0.1, FreezeStages = 2, LinearProbeEpochs = 30, CacheActivations = true, LinearProbeFromCache = true,
            },
        };
        var recipe = RunRecipe.Of(new CheckpointInfo { Optimizer = "AdamW", ConfigYaml = ConfigPrinter.ToYaml(config) });
        Assert.Contains("freeze_stages: 2", recipe);
        Assert.Contains("warmup_epochs: 2", recipe);
        Assert.Contains("label_smoothing: 0.1", recipe);
        Assert.Contains("cache_activations: true, linear_probe_from_cache: true", recipe); // where the probe's features came from
        Assert.DoesNotContain("grad_clip", recipe); // left at its default
        Assert.DoesNotContain("linear_probe_refit_with_val", recipe);
        var refitted = config with { Training = config.Training with { NumEpochs = 0, LinearProbeRefitWithVal = true, LinearProbeFlip = false } };
        Assert.Contains("linear_probe_flip: false, linear_probe_refit_with_val: true", // the kept head learned from the validation images too
            RunRecipe.Of(new CheckpointInfo { Optimizer = "AdamW", ConfigYaml = ConfigPrinter.ToYaml(refitted) }));

        Assert.Equal("optimizer SGD; the rest of the recipe is not recorded: the checkpoint holds no config",
            RunRecipe.Of(new CheckpointInfo { Optimizer = "SGD" }));
        Assert.StartsWith("optimizer SGD; the rest of the recipe is not recorded: this version cannot read the checkpoint's config (",
            RunRecipe.Of(new CheckpointInfo { Optimizer = "SGD", ConfigYaml = "training:\n  no_such_key: 1\n" }));
    }
}
