using System.Security.Cryptography;
using FineTune.Config;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Data;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

public class TrainerTests
{
    static TrainingResult Run(FineTuneConfig config, TrainingData data, FineTune.Models.ResNet? model = null, CheckpointFile? resume = null) =>
        new Trainer(config, new ModelToTrain(model ?? Tiny.Model(), Preprocessing.ImageNet), data, RunContext.Silent()).Run(resume);

    static string Folder(FineTuneConfig c) => c.Experiment.RunCheckpointDir;

    [Fact]
    public void Save_best_only_keeps_the_best_and_the_last_epoch()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 3);
        var result = Run(config, Tiny.Data(config));
        var files = Directory.GetFiles(Folder(config), "*.ckpt").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["checkpoint_best.ckpt", "checkpoint_epoch_3.ckpt"], files);
        var best = CheckpointFile.Load(Path.Combine(Folder(config), "checkpoint_best.ckpt")).Info;
        Assert.Equal(result.BestEpoch, best.Epoch);
        Assert.Equal(result.BestValAccuracy, best.BestValAccuracy);
        Assert.Equal(3, result.History.Count);
        Assert.True(File.Exists(Path.Combine(Folder(config), "history.json")));
    }

    [Fact]
    public void Without_save_best_only_every_save_every_epochs_and_the_last_are_kept()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 5);
        config = config with { Experiment = config.Experiment with { SaveBestOnly = false, SaveEvery = 2 } };
        Run(config, Tiny.Data(config));
        var files = Directory.GetFiles(Folder(config), "checkpoint_epoch_*.ckpt").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["checkpoint_epoch_2.ckpt", "checkpoint_epoch_4.ckpt", "checkpoint_epoch_5.ckpt"], files);
    }

    [Fact]
    public void The_policy_matches_the_seed()
    {
        var bestOnly = new CheckpointPolicy("x", SaveBestOnly: true, SaveEvery: 5, NumEpochs: 30);
        Assert.Equal([30], Enumerable.Range(1, 30).Where(e => bestOnly.SavesEpoch(e, earlyStop: false)));
        Assert.True(bestOnly.SavesEpoch(12, earlyStop: true));
        var every = bestOnly with { SaveBestOnly = false };
        Assert.Equal([5, 10, 15, 20, 25, 30], Enumerable.Range(1, 30).Where(e => every.SavesEpoch(e, earlyStop: false)));
    }

    [Fact]
    public void A_checkpoint_holds_what_test_and_predict_need()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1);
        var data = Tiny.Data(config);
        using var model = Tiny.Model();
        Run(config, data, model);
        var checkpoint = CheckpointFile.Load(Path.Combine(Folder(config), "checkpoint_best.ckpt"));
        var info = checkpoint.Info;
        Assert.Equal(data.ClassNames, info.ClassNames);
        Assert.Equal(data.SplitManifestHash, info.SplitManifestHash);
        Assert.Equal(Preprocessing.ImageNet.Mean, info.Preprocessing!.Mean);
        Assert.Equal("AdamW", info.Optimizer);
        Assert.Equal(config with { Source = "stored" }, ConfigLoader.Parse(info.ConfigYaml, "stored"));
        using var restored = checkpoint.CreateModel(TestSetup.Routing);
        Assert.Equal(0, Tiny.MaxDifference(model, restored));
    }

    [Fact]
    public void Early_stopping_saves_the_epoch_it_stops_at()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 10, t => t with { EarlyStopping = 2 });
        var data = Tiny.Data(config);
        // Identical validation images with labels cycling over all classes: accuracy is 1/4 whatever the weights,
        // so only epoch 1 "improves" (on nothing) and the run must stop after epoch 3.
        var (images, labels) = (zeros(8, 3, 32, 32), arange(8, dtype: int64) % Tiny.Classes);
        data = data with { Val = new InMemoryBatchSource(images, labels, 8, shuffle: false, seed: 0) };
        var result = Run(config, data);
        Assert.Equal(TrainingOutcome.EarlyStopped, result.Outcome);
        Assert.Equal(3, result.LastEpoch);
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal(0.25, result.BestValAccuracy, 6);
        var stopped = CheckpointFile.Load(Path.Combine(Folder(config), "checkpoint_epoch_3.ckpt")).Info;
        Assert.Equal("early_stop", stopped.Reason);
        Assert.Equal(2, stopped.EpochsWithoutImprovement);
    }

    [Fact]
    public void A_nan_loss_stops_training_and_keeps_the_best_checkpoint()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 3);
        var data = Tiny.Data(config);
        var bestPath = Path.Combine(Folder(config), "checkpoint_best.ckpt");
        string? bestBeforeNan = null;
        data = data with
        {
            Train = new InterceptingSource(data.Train, (epoch, b, batch) =>
            {
                if (epoch == 2 && b == 0) bestBeforeNan = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(bestPath)));
                return epoch == 2 && b == 1 ? new FineTune.Data.Batch(full_like(batch.Images, double.NaN), batch.Labels, batch.Indices, batch.Paths) : batch;
            }),
        };
        var result = Run(config, data);

        Assert.Equal(TrainingOutcome.Diverged, result.Outcome);
        Assert.Contains("NaN", result.Message);
        Assert.Contains("epoch 2, step 2", result.Message);
        Assert.Contains("base_lr", result.Message);
        Assert.Equal(1, result.LastEpoch);
        var best = CheckpointFile.Load(bestPath);
        Assert.Equal(1, best.Info.Epoch);
        using var model = best.CreateModel(TestSetup.Routing);
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        Assert.False(File.Exists(Path.Combine(Folder(config), "checkpoint_epoch_2.ckpt")));
        Assert.NotNull(bestBeforeNan);
        Assert.Equal(bestBeforeNan, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(bestPath))));
    }

    [Fact]
    public void A_checkpoint_of_another_class_count_or_backbone_says_so()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1);
        Run(config, Tiny.Data(config));
        var checkpoint = CheckpointFile.Load(Path.Combine(Folder(config), "checkpoint_best.ckpt"));

        var e = Assert.Throws<CheckpointException>(() => checkpoint.EnsureMatches("resnet18", 101, "the config c.yaml"));
        Assert.Contains("has 4 classes", e.Message);
        Assert.Contains("101", e.Message);
        e = Assert.Throws<CheckpointException>(() => checkpoint.EnsureMatches("resnet50", 4, "the config c.yaml"));
        Assert.Contains("holds a resnet18", e.Message);
        Assert.Contains("resnet50", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_is_named()
    {
        var path = Path.Combine(Tiny.TempFolder(), "junk.ckpt");
        File.WriteAllText(path, "hello");
        var e = Assert.Throws<CheckpointException>(() => CheckpointFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Throws<CheckpointException>(() => CheckpointFile.Load(path + ".missing"));
    }

    [Fact]
    public void A_missing_dataset_says_how_to_get_it()
    {
        var config = Tiny.Config(Tiny.TempFolder());
        config = config with { Data = config.Data with { Source = DataSource.Folder, DataDir = "/nonexistent/caltech" } };
        var e = Assert.Throws<DatasetNotFoundException>(() => Tiny.Data(config));
        Assert.Contains("/nonexistent/caltech", e.Message);
        Assert.Contains("finetune data prepare", e.Message);
    }
}

public class FreezeTests
{
    [Fact]
    public void A_frozen_backbone_keeps_its_weights_while_the_classifier_learns()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { FreezeBackboneEpochs = 1, WeightDecay = 0.1 });
        using var model = Tiny.Model();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        new Trainer(config, new ModelToTrain(model, FineTune.Weights.Preprocessing.ImageNet), Tiny.Data(config), RunContext.Silent()).Run();
        foreach (var (name, p) in model.named_parameters())
        {
            bool same = p.eq(before[name]).all().item<bool>();
            Assert.True(name.StartsWith("fc.") ? !same : same, $"{name} {(same ? "did not change" : "changed")}");
        }
    }
}
