using FineTune.Logging;
using FineTune.Config;
using FineTune.Models;
using FineTune.Tests.Cli;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// model.weights naming a checkpoint: a new run starts from a model made earlier (issue 20, item 4). Each run is stopped
/// before its first step, so the checkpoint_interrupted.ckpt it leaves holds exactly the weights it started from.
/// </summary>
[Collection("single-threaded training")]
public class StartingCheckpointTests(Xunit.Abstractions.ITestOutputHelper output) : RestoresKernelPlan
{
    /// <summary>A config for a new run "continued" on <paramref name="data"/>'s folder, starting from <paramref name="weights"/>.</summary>
    static FineTuneConfig ContinueConfig(FolderExperiment data, string weights, string backbone = "resnet18", bool pretrained = true, int probeEpochs = 0, string name = "continued")
    {
        var yaml = data.Yaml(backbone: backbone)
            .Replace("pretrained: false", $"pretrained: {(pretrained ? "true" : "false")}\n  weights: {weights}")
            .Replace("name: folder_run", $"name: {name}")
            .Replace("  threads: 1\n", $"  threads: 1\n  precision: fp32\n  linear_probe_epochs: {probeEpochs}\n");
        return ConfigLoader.Parse(yaml, "continue.yaml");
    }

    /// <summary>Trains <paramref name="config"/> with a token cancelled from the start: the run saves its starting model and stops. Returns its log.</summary>
    static string StartOnly(FineTuneConfig config)
    {
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        var log = new StringWriter();
        var result = Experiment.Train(config, new TrainOptions { Logger = new PlainTextLogger(log) }, stop.Token);
        Assert.True(result.Outcome == TrainingOutcome.Interrupted, log.ToString());
        return log.ToString();
    }

    static CheckpointFile Started(FineTuneConfig config) =>
        CheckpointFile.Load(Path.Combine(config.Experiment.RunCheckpointDir, "checkpoint_interrupted.ckpt"));

    /// <summary>The largest difference between two models' tensors whose names <paramref name="which"/> accepts.</summary>
    static double MaxDifference(ResNet a, ResNet b, Func<string, bool> which)
    {
        var sb = b.state_dict();
        double max = 0;
        int compared = 0;
        foreach (var (key, ta) in a.state_dict().Where(kv => which(kv.Key)))
        {
            using var diff = (ta.to(float64) - sb[key].to(float64)).abs().max();
            max = Math.Max(max, diff.item<double>());
            compared++;
        }
        Assert.True(compared > 10, $"only {compared} tensors compared");
        return max;
    }

    static float Largest(Tensor difference)
    {
        using (difference) using (var max = difference.abs().max()) return max.item<float>();
    }

    static bool IsHead(string key) => key.StartsWith("fc.", StringComparison.Ordinal);

    /// <summary>Logits of both models in evaluation mode on the same seeded batch of images (the checkpoint's preprocessing is not needed to compare).</summary>
    static double LogitDifference(ResNet a, ResNet b)
    {
        using var generator = new Generator(5);
        using var images = rand(6, 3, FolderExperiment.Size, FolderExperiment.Size, generator: generator);
        a.eval(); b.eval();
        using var _ = no_grad();
        using var la = a.call(images);
        using var lb = b.call(images);
        Assert.Equal(la.shape, lb.shape);
        using var diff = (la - lb).abs().max();
        return diff.item<float>();
    }

    [Fact]
    public void With_the_same_classes_the_run_starts_from_the_checkpoint_unchanged_head_included_and_skips_the_probe()
    {
        var experiment = new FolderExperiment();
        var config = ContinueConfig(experiment, experiment.CheckpointPath, probeEpochs: 3);

        var log = StartOnly(config);

        output.WriteLine(log);
        Assert.Contains($"Model: resnet18 from checkpoint {experiment.CheckpointPath} (epoch 1, 3 classes); the same classes: its head is kept.", log);
        Assert.Contains("Linear probe skipped (training.linear_probe_epochs: 3)", log);
        var source = CheckpointFile.Load(experiment.CheckpointPath);
        var started = Started(config);
        using var before = source.CreateModel(TestSetup.Routing);
        using var after = started.CreateModel(TestSetup.Routing);
        Assert.Equal(0, MaxDifference(before, after, _ => true));
        Assert.Equal(0, LogitDifference(before, after));
        Assert.Equal(source.Info.Preprocessing!.ToString(), started.Info.Preprocessing!.ToString()); // a record of arrays: compared as its description
        Assert.StartsWith($"checkpoint {experiment.CheckpointPath} (sha256 ", started.Info.StartingWeights);
        Assert.Contains("), epoch 1; before that: trained from scratch (random init)", started.Info.StartingWeights);
        Assert.Equal(0, started.Info.Epoch); // a new run: nothing of the old one's epochs or optimizer carried over
    }

    [Fact]
    public void A_probe_only_run_from_a_checkpoint_whose_head_fits_is_refused_before_anything_is_written()
    {
        var experiment = new FolderExperiment();
        var continued = ContinueConfig(experiment, experiment.CheckpointPath, probeEpochs: 3);
        var config = continued with { Training = continued.Training with { NumEpochs = 0 } };

        var e = Assert.Throws<ConfigException>(() => Experiment.Train(config, new TrainOptions()));

        Assert.Contains("training.num_epochs is 0", e.Message);
        Assert.Contains($"checkpoint {experiment.CheckpointPath} already has a head trained for these classes", e.Message);
        Assert.Contains($"finetune test --model_path {experiment.CheckpointPath}", e.Message);
        Assert.False(Directory.Exists(config.Experiment.RunCheckpointDir));

        // With other classes the head is new, so the probe runs and its model is the run's result.
        var wider = new FolderExperiment(trained: false, classes: 4);
        var other = ContinueConfig(wider, experiment.CheckpointPath, probeEpochs: 3, name: "probed");
        other = other with { Training = other.Training with { NumEpochs = 0 } };
        var result = Experiment.Train(other, new TrainOptions());
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.True(File.Exists(Path.Combine(other.Experiment.RunCheckpointDir, "checkpoint_best.ckpt")));
    }

    [Fact]
    public void With_other_classes_the_backbone_is_kept_and_the_head_is_new_seeded_and_of_the_new_size()
    {
        var experiment = new FolderExperiment();
        // Four classes, stripes at 0, 45, 90 and 135 degrees: only the first is among the checkpoint's three (0, 60, 120).
        var wider = new FolderExperiment(trained: false, classes: 4);
        var config = ContinueConfig(wider, experiment.CheckpointPath);

        var log = StartOnly(config);

        output.WriteLine(log);
        Assert.Contains("(epoch 1, 3 classes); classes differ (3 new, 2 gone): new head for 4 classes.", log);
        using var before = CheckpointFile.Load(experiment.CheckpointPath).CreateModel(TestSetup.Routing);
        using var after = Started(config).CreateModel(TestSetup.Routing);
        Assert.Equal(4, after.NumClasses);
        Assert.Equal(0, MaxDifference(before, after, key => !IsHead(key)));
        Assert.Equal([4L, after.Architecture.FeatureCount], after.Head.weight!.shape);
        Assert.True(after.Head.weight.abs().max().item<float>() > 0, "the new head must be initialised, not zero");

        // Seeded by data.seed: a second run of the same config starts with the same new head.
        var again = config with { Experiment = config.Experiment with { Name = "continued_again" } };
        StartOnly(again);
        using var second = Started(again).CreateModel(TestSetup.Routing);
        Assert.Equal(0, MaxDifference(after, second, _ => true));
    }

    [Fact]
    public void The_same_classes_in_another_order_keep_the_head_with_its_rows_reordered_by_name()
    {
        var experiment = new FolderExperiment();
        var source = CheckpointFile.Load(experiment.CheckpointPath);
        // The checkpoint's classes listed backwards, its head rows as saved: row i belongs to the reversed list's class i.
        var reversed = Path.Combine(experiment.Root, "reversed.ckpt");
        var names = source.Info.ClassNames.Reverse().ToArray();
        FolderExperiment.SaveCheckpoint(reversed, ConfigLoader.Load(experiment.ConfigPath), names, source.Info.SplitManifestHash);
        var config = ContinueConfig(experiment, reversed);

        var log = StartOnly(config);

        Assert.Contains("the same classes in another order: its head's rows are reordered by class name.", log);
        using var before = CheckpointFile.Load(reversed).CreateModel(TestSetup.Routing);
        using var after = Started(config).CreateModel(TestSetup.Routing);
        Assert.Equal(0, MaxDifference(before, after, key => !IsHead(key)));
        using var expectedWeight = before.Head.weight!.flip(0);
        using var expectedBias = before.Head.bias!.flip(0);
        Assert.Equal(0, Largest(after.Head.weight! - expectedWeight));
        Assert.Equal(0, Largest(after.Head.bias! - expectedBias));
        Assert.True(Largest(before.Head.weight - after.Head.weight) > 0, "reversing must move rows, or the test proves nothing");
    }

    [Fact]
    public void Another_backbone_is_refused_naming_both_before_anything_is_written()
    {
        var experiment = new FolderExperiment();
        var config = ContinueConfig(experiment, experiment.CheckpointPath, backbone: "resnet34");

        var e = Assert.Throws<CheckpointException>(() => Experiment.Train(config, new TrainOptions()));

        Assert.Contains("holds a resnet18, but model.backbone is resnet34", e.Message);
        Assert.Contains("set model.backbone: resnet18", e.Message);
        Assert.False(Directory.Exists(config.Experiment.RunCheckpointDir));
    }

    [Fact]
    public void A_missing_or_damaged_checkpoint_is_one_message_naming_the_file_and_the_key()
    {
        var experiment = new FolderExperiment();
        var missing = Path.Combine(experiment.Root, "nowhere", "checkpoint_best.ckpt");
        var bytes = File.ReadAllBytes(experiment.CheckpointPath);
        var truncated = Path.Combine(experiment.Root, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);

        foreach (var (path, says) in new[] { (missing, "not found"), (truncated, "is not a readable finetune checkpoint") })
        {
            var config = ContinueConfig(experiment, path);
            var result = FinetuneProgram.Run(experiment.Root, "train", "--config", Write(experiment, config, path));
            output.WriteLine(result.Err);
            Assert.NotEqual(0, result.Code);
            var line = Assert.Single(result.Err.Trim().Split('\n'));
            Assert.Contains("model.weights in ", line);
            Assert.Contains(path, line);
            Assert.Contains(says, line);
            Assert.False(Directory.Exists(config.Experiment.RunCheckpointDir));
        }
    }

    [Fact]
    public void Pretrained_false_or_a_checkpoint_in_the_run_s_own_folder_is_refused()
    {
        var experiment = new FolderExperiment();
        var scratch = ContinueConfig(experiment, experiment.CheckpointPath, pretrained: false);
        var e = Assert.Throws<ConfigException>(() => Experiment.Train(scratch, new TrainOptions()));
        Assert.Contains("model.pretrained is false", e.Message);

        // The run named like the one that wrote the checkpoint would write over it.
        var own = ContinueConfig(experiment, experiment.CheckpointPath, name: "folder_run");
        var before = File.ReadAllBytes(experiment.CheckpointPath);
        var c = Assert.Throws<CheckpointException>(() => Experiment.Train(own, new TrainOptions()));
        Assert.Contains("experiment.name", c.Message);
        Assert.Equal(before, File.ReadAllBytes(experiment.CheckpointPath));
    }

    /// <summary>The config as a YAML file for the program (the YAML the config was parsed from, model.weights set to <paramref name="weights"/>).</summary>
    static string Write(FolderExperiment experiment, FineTuneConfig config, string weights)
    {
        var path = Path.Combine(experiment.Root, $"continue_{Path.GetFileNameWithoutExtension(weights)}.yaml");
        File.WriteAllText(path, ConfigPrinter.ToYaml(config));
        return path;
    }
}
