using FineTune.Config;
using Xunit;

namespace FineTune.Tests.Config;

public class ConfigLoaderTests
{
    public static TheoryData<string> SeedConfigs() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Config", "SeedConfigs"), "*.yaml").Select(f => Path.GetFileName(f)!).Order()];

    [Fact]
    public void All_eight_seed_configs_are_present_as_fixtures()
    {
        Assert.Equal(8, SeedConfigs().Count);
    }

    [Theory]
    [MemberData(nameof(SeedConfigs))]
    public void A_seed_config_loads_unchanged(string name)
    {
        var c = ConfigLoader.Load(Path.Combine(AppContext.BaseDirectory, "Config", "SeedConfigs", name));
        Assert.Equal(name.Split('_')[0], c.Model.Backbone);
        Assert.Equal(name.Contains("finetune"), c.Model.Pretrained);
        Assert.Equal(101, c.Model.NumClasses);
        // `1e-4` and `1e-8` are strings to YAML 1.1 loaders; the seed converts them, and so do we.
        Assert.Equal(1e-4, c.Training.WeightDecay);
        Assert.Equal(1e-8, c.Training.Eps);
        Assert.Equal(OptimizerKind.AdamW, c.Training.Optimizer);
        Assert.Equal(SchedulerKind.ReduceLrOnPlateau, c.Training.Scheduler);
        Assert.Equal("data/caltech-101/101_ObjectCategories", c.Data.DataDir);
        Assert.Equal((0.5, 0.25, 0.25, 42), (c.Data.TrainSize, c.Data.ValSize, c.Data.TestSize, c.Data.Seed));
        Assert.True(c.Experiment.SaveBestOnly);
        Assert.Equal(5, c.Experiment.SaveEvery);
    }

    [Fact]
    public void Seed_values_of_resnet18_finetune_are_read_exactly()
    {
        var c = ConfigLoader.Load(Path.Combine(AppContext.BaseDirectory, "Config", "SeedConfigs", "resnet18_finetune.yaml"));
        Assert.Equal(1e-5, c.Training.BaseLr);
        Assert.Equal(10, c.Training.FcLrMultiplier);
        Assert.Equal(16, c.Data.BatchSize);
        Assert.Equal(4, c.Data.NumWorkers);
        Assert.Equal(30, c.Training.NumEpochs);
        Assert.Equal((0.9, 0.999, 0.9, false), (c.Training.Beta1, c.Training.Beta2, c.Training.Momentum, c.Training.Nesterov));
        Assert.Equal((3, 0.1, 10), (c.Training.Patience, c.Training.Factor, c.Training.EarlyStopping));
        Assert.Equal(("resnet34_finetune", "outputs/checkpoints", "outputs/logs"), (c.Experiment.Name, c.Experiment.CheckpointDir, c.Experiment.LogDir));
    }

    [Theory]
    [InlineData("resnet18"), InlineData("resnet34"), InlineData("resnet50"), InlineData("resnet101")]
    public void Shipped_configs_have_the_seeds_recipes(string backbone)
    {
        var f = ConfigLoader.Load(RepoFiles.Path("configs", $"{backbone}_finetune.yaml"));
        Assert.Equal((backbone, true, OptimizerKind.AdamW, 1e-5, 10.0, 16), (f.Model.Backbone, f.Model.Pretrained, f.Training.Optimizer, f.Training.BaseLr, f.Training.FcLrMultiplier, f.Data.BatchSize));
        Assert.Equal((SchedulerKind.ReduceLrOnPlateau, 3, 10, 30), (f.Training.Scheduler, f.Training.Patience, f.Training.EarlyStopping, f.Training.NumEpochs));
        Assert.Equal($"{backbone}_finetune", f.Experiment.Name);

        var s = ConfigLoader.Load(RepoFiles.Path("configs", $"{backbone}_scratch.yaml"));
        Assert.Equal((backbone, false, OptimizerKind.AdamW, 1e-4, 1.0, 32), (s.Model.Backbone, s.Model.Pretrained, s.Training.Optimizer, s.Training.BaseLr, s.Training.FcLrMultiplier, s.Data.BatchSize));
        Assert.Equal((SchedulerKind.ReduceLrOnPlateau, 5, 15, 30), (s.Training.Scheduler, s.Training.Patience, s.Training.EarlyStopping, s.Training.NumEpochs));
        Assert.Equal($"{backbone}_scratch", s.Experiment.Name);
    }

    [Fact]
    public void Quickstart_config_uses_synthetic_data()
    {
        var q = ConfigLoader.Load(RepoFiles.Path("configs", "quickstart.yaml"));
        Assert.Equal(DataSource.Synthetic, q.Data.Source);
        Assert.Equal(64, q.Data.ImageSize);
        Assert.Equal(4, q.Model.NumClasses);
    }

    [Fact]
    public void Missing_keys_take_documented_defaults()
    {
        var c = ConfigLoader.Parse("model:\n  backbone: resnet50\n", "min.yaml");
        Assert.Equal("resnet50", c.Model.Backbone);
        Assert.Equal("auto", c.Model.Weights);
        Assert.Null(c.Data.ImageSize);
        Assert.Equal(0, c.Training.LabelSmoothing);
        Assert.Equal(10, c.Training.EffectiveStepSize); // num_epochs 30 / 3, as in the seed
        Assert.Equal(0.5, c.Data.Augmentation.FlipProbability);
        Assert.Equal(15, c.Data.Augmentation.RotationDegrees);
        Assert.Equal(FineTuneConfig.Defaults with { Model = c.Model, Source = "min.yaml" }, c);
    }

    [Fact]
    public void An_empty_file_is_all_defaults()
    {
        Assert.Equal(FineTuneConfig.Defaults with { Source = "e.yaml" }, ConfigLoader.Parse("", "e.yaml"));
    }

    [Fact]
    public void The_resolved_yaml_reads_back_to_the_same_config()
    {
        var original = ConfigLoader.Parse(
            "data:\n  image_size: 160\n  augmentation:\n    rotation_degrees: 5\n    eval_resize: center_crop\nmodel:\n  weights: 'C:/weights/r18.pth'\ntraining:\n  scheduler: cosine\n  base_lr: 3e-4\n  label_smoothing: 0.1\n  step_size: 4\nexperiment:\n  name: run#1\n",
            "a.yaml");
        var again = ConfigLoader.Parse(ConfigPrinter.ToYaml(original), "b.yaml");
        Assert.Equal(original with { Source = "b.yaml" }, again);
    }

    [Theory]
    [InlineData("training:\n  num_epochs: 30\n  base_lrr: 0.1\n", "bad.yaml:3: training.base_lrr is not a known key")]
    [InlineData("data:\n  batch_size: 16\nmodels:\n  backbone: resnet18\n", "bad.yaml:3: models is not a known key")]
    [InlineData("training:\n  num_epochs: thirty\n", "bad.yaml:2: training.num_epochs must be a whole number; got 'thirty'")]
    [InlineData("training:\n  num_epochs: 2.5\n", "bad.yaml:2: training.num_epochs must be a whole number")]
    [InlineData("training:\n  base_lr: fast\n", "bad.yaml:2: training.base_lr must be a number; got 'fast'")]
    [InlineData("\n\ntraining:\n  base_lr: -1e-3\n", "bad.yaml:4: training.base_lr must be in (0, 10]")]
    [InlineData("data:\n  train_size: 1.5\n", "bad.yaml:2: data.train_size must be in (0, 1]")]
    [InlineData("data:\n  batch_size: 0\n", "bad.yaml:2: data.batch_size must be at least 1; got 0")]
    [InlineData("model:\n  backbone: resnet19\n", "bad.yaml:2: model.backbone must be one of resnet18, resnet34, resnet50, resnet101, resnet152; got 'resnet19'")]
    [InlineData("model:\n  pretrained: maybe\n", "bad.yaml:2: model.pretrained must be true or false; got 'maybe'")]
    [InlineData("training:\n  scheduler: linear\n", "bad.yaml:2: training.scheduler must be one of step, cosine, cosine_per_step, reduce_lr_on_plateau, none; got 'linear'")]
    [InlineData("training:\n  factor: 1\n", "bad.yaml:2: training.factor must be in (0, 1)")]
    [InlineData("data:\n  augmentation:\n    flip: true\n", "bad.yaml:3: data.augmentation.flip is not a known key")]
    [InlineData("training: [1, 2]\n", "bad.yaml:1: training must be a mapping")]
    [InlineData("data:\n  seed: [1, 2]\n", "bad.yaml:2: data.seed must be a single value")]
    [InlineData("training:\n  num_epochs: 0\n", "bad.yaml:2: training.num_epochs is 0 and so is linear_probe_epochs: that trains nothing")]
    [InlineData("training:\n  cache_activations: true\n", "bad.yaml:2: training.cache_activations needs freeze_stages 1 or more")]
    [InlineData("data:\n  image_size: 224\n  image_size_start: 256\n", "bad.yaml:3: data.image_size_start is 256, above the size it rises to (image_size 224)")]
    [InlineData("data:\n  image_size_start: 256\n", "bad.yaml:2: data.image_size_start is 256, above the size it rises to (image_size 224)")]
    [InlineData("data:\n  source: synthetic\n  image_size_start: 160\n", "bad.yaml:3: data.image_size_start needs source: folder")]
    [InlineData("training:\n  linear_probe_from_cache: true\n", "bad.yaml:2: training.linear_probe_from_cache needs cache_activations: true")]
    [InlineData("training:\n  freeze_stages: 2\n  cache_activations: true\n  linear_probe_from_cache: true\n", "bad.yaml:4: training.linear_probe_from_cache is true but linear_probe_epochs is 0")]
    [InlineData("training:\n  num_epochs: 2\n  linear_probe_epochs: 30\n  linear_probe_refit_with_val: true\n", "bad.yaml:4: training.linear_probe_refit_with_val needs num_epochs: 0 (it is 2)")]
    [InlineData("training:\n  num_epochs: 0\n  linear_probe_refit_with_val: true\n", "bad.yaml:3: training.linear_probe_refit_with_val is true but linear_probe_epochs is 0")]
    [InlineData("training:\n  num_epochs: 0\n  linear_probe_epochs: 30\n  refit_head: true\n", "bad.yaml:4: training.refit_head needs num_epochs 1 or more")]
    [InlineData("training:\n  num_epochs: 2\n  refit_head: true\n", "bad.yaml:3: training.refit_head fits the head with the linear probe's settings, but linear_probe_epochs is 0")]
    [InlineData("data:\n  image_size_start: 160\ntraining:\n  freeze_stages: 2\n  cache_activations: true\n", "bad.yaml:5: training.cache_activations replays epoch 1's views at epoch 1's size")]
    [InlineData("data:\n  train_size: 0.6\n  val_size: 0.3\n  test_size: 0.3\n", "bad.yaml:2: data.train_size + val_size + test_size must sum to 1; got 1.2")]
    [InlineData("data:\n  batch_size: 8\n  train_size: 0.5\n  val_size: 0.2\n  test_size: 0.2\n", "bad.yaml:3: data.train_size + val_size + test_size must sum to 1; got 0.9")]
    [InlineData("data:\n  val_size: 0.1\n", "bad.yaml:2: data.train_size + val_size + test_size must sum to 1; got 0.85")]
    [InlineData("data:\n  test_size: 0\n", "bad.yaml:2: data.test_size must be in (0, 1]")]
    [InlineData("data:\n  batch_size: 16\n   seed: 4\n", "bad.yaml:3: not valid YAML")]
    public void Bad_values_name_the_file_line_and_key(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "bad.yaml"));
        Assert.Contains(expected, e.Message);
    }

    /// <summary>With refit_head, the refit on the validation images belongs to the head that ends the run, so epochs may come before it.</summary>
    [Fact]
    public void Refit_with_val_is_allowed_with_epochs_when_the_head_refit_ends_the_run()
    {
        var config = ConfigLoader.Parse("training:\n  num_epochs: 2\n  linear_probe_epochs: 30\n  refit_head: true\n  linear_probe_refit_with_val: true\n", "ok.yaml");
        Assert.True(config.Training.RefitHead);
        Assert.True(config.Training.LinearProbeRefitWithVal);
    }

    [Fact]
    public void A_probe_only_run_with_flip_averaging_reads_and_prints_back_the_same()
    {
        var c = ConfigLoader.Parse("data:\n  augmentation:\n    eval_flip: true\ntraining:\n  num_epochs: 0\n  linear_probe_epochs: 30\n", "probe.yaml");
        Assert.Equal(0, c.Training.NumEpochs);
        Assert.True(c.Data.Augmentation.EvalFlip);
        Assert.False(ConfigLoader.Parse("training:\n  num_epochs: 1\n", "x.yaml").Data.Augmentation.EvalFlip);
        var again = ConfigLoader.Parse(ConfigPrinter.ToYaml(c), "printed.yaml");
        Assert.Equal(c.Training, again.Training);
        Assert.Equal(c.Data.Augmentation, again.Data.Augmentation);
    }

    [Fact]
    public void Yaml_1_1_booleans_and_numbers_as_strings_work_like_pyyaml_plus_float()
    {
        var c = ConfigLoader.Parse("model:\n  pretrained: yes\ntraining:\n  base_lr: \"1e-4\"\n  nesterov: off\n  num_epochs: 1e2\n", "x.yaml");
        Assert.True(c.Model.Pretrained);
        Assert.False(c.Training.Nesterov);
        Assert.Equal(1e-4, c.Training.BaseLr);
        Assert.Equal(100, c.Training.NumEpochs);
    }

    [Fact]
    public void A_missing_file_says_which_and_what_to_pass()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/x.yaml"));
        Assert.Contains("/nonexistent/x.yaml", e.Message);
        Assert.Contains("--config", e.Message);
    }

    [Fact]
    public void Every_key_is_documented_in_docs_config_md()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs", "config.md"));
        var keys = ConfigPrinter.ToYaml(FineTuneConfig.Defaults).Split('\n')
            .Where(l => l.StartsWith("  ", StringComparison.Ordinal) && l.Contains(':'))
            .Select(l => l.Trim().Split(':')[0]).Where(k => k != "augmentation");
        foreach (var key in keys)
            Assert.True(doc.Contains($"`{key}`") || doc.Contains($".{key}`") || doc.Contains($"`{key}`, "), $"docs/config.md does not document {key}");
    }

    [Fact]
    public void Every_shipped_config_loads()
    {
        var files = Directory.GetFiles(RepoFiles.Path("configs"), "*.yaml");
        Assert.Contains(files, f => f.EndsWith("resnet18_fast_cpu.yaml"));
        foreach (var file in files) ConfigLoader.Load(file);
        var fast = ConfigLoader.Load(RepoFiles.Path("configs", "resnet18_fast_cpu.yaml"));
        Assert.Equal((288, 320), (fast.Data.ImageSize, fast.Data.EvalImageSize));
        Assert.True(fast.Training.LinearProbeEpochs > 0 && fast.Training.FreezeStages == 2);
    }
}
