using FineTune.Config;
using FineTune.Models;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Training.Memory;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>linear_probe_epochs, freeze_batchnorm and channels_last on the tiny synthetic run, and the memory trace.</summary>
public class TrainingOptionsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static Dictionary<string, Tensor> Snapshot(ResNet model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    static bool Same(Tensor a, Tensor b)
    {
        using var diff = (a.to(float64) - b.to(float64)).abs().max();
        return a.shape.SequenceEqual(b.shape) && diff.item<double>() == 0;
    }

    [Fact]
    public void The_linear_probe_trains_the_head_and_leaves_the_backbone_alone()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { LinearProbeEpochs = 20 });
        var data = Tiny.Data(config);
        using var model = Tiny.Model();
        var before = Snapshot(model);
        var probe = new LinearProbe(model, config.Training, ProgressReporter.Silent()).Run(data.Train, data.Val, seed: 3)!;

        var after = model.state_dict();
        foreach (var (key, value) in before)
        {
            bool same = Same(value, after[key]);
            Assert.True(key.StartsWith("fc.") ? !same : same, $"{key} {(same ? "unchanged" : "changed")}");
        }
        Assert.Equal(data.Train.ImageCount, probe.Images);
        // Four classes of distinct synthetic shapes: a trained head beats chance (25%) on features of even a random backbone.
        Assert.True(probe.TrainAccuracy > 0.5, $"probe train accuracy {probe.TrainAccuracy}");
    }

    [Fact]
    public void A_stop_during_the_probes_feature_pass_ends_the_run_at_the_next_batch_and_saves_nothing()
    {
        // The feature pass is minutes on a real dataset; Ctrl-C (or SIGTERM) must not wait for it, nor for fine-tuning.
        var root = Tiny.TempFolder();
        var config = Tiny.Config(root, epochs: 2, t => t with { LinearProbeEpochs = 5 });
        var data = Tiny.Data(config);
        var probeSource = data.TrainUnaugmented ?? data.Train;
        Assert.True(probeSource.BatchCount >= 2, "the stop must come with batches left, or the test proves nothing");
        using var stop = new CancellationTokenSource();
        var seen = new List<(int Epoch, int Batch)>();
        var intercepted = new InterceptingSource(probeSource, (epoch, b, batch) => { seen.Add((epoch, b)); if (b == 0) stop.Cancel(); return batch; });
        data = data.TrainUnaugmented is null ? data with { Train = intercepted } : data with { TrainUnaugmented = intercepted };
        using var model = Tiny.Model();
        var before = Snapshot(model);

        var result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), data, RunContext.Silent() with { Stop = stop.Token }).Run();

        Assert.Equal(TrainingOutcome.Interrupted, result.Outcome);
        Assert.Contains("during the linear probe", result.Message);
        Assert.Equal(StopReason.Cancelled, result.StopReason);
        Assert.Equal([(1, 0)], seen);   // one batch of features; the val pass and fine-tuning never started
        Assert.Empty(result.History);
        Assert.Null(result.LastCheckpoint);
        Assert.False(Directory.Exists(Path.Combine(root, "ckpt", "tiny")) && Directory.EnumerateFiles(Path.Combine(root, "ckpt", "tiny"), "*.ckpt").Any());
        Assert.All(before, kv => Assert.True(Same(kv.Value, model.state_dict()[kv.Key]), $"{kv.Key} changed"));
    }

    [Fact]
    public void A_run_with_a_probe_reports_it_and_then_trains_all_layers()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { LinearProbeEpochs = 3 });
        var output = new StringWriter();
        using var model = Tiny.Model();
        var before = Snapshot(model);
        var result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), Tiny.Data(config), new RunContext(new ProgressReporter(output))).Run();
        Assert.Contains("Linear probe: 3 epochs on the frozen backbone's features of", output.ToString());
        Assert.False(Same(before["conv1.weight"], model.state_dict()["conv1.weight"]), "the backbone should train after the probe");
        Assert.Equal(1, result.BestEpoch);
        Assert.Null(FineTune.Export.ModelExport.FlipNote(CheckpointFile.Load(result.BestCheckpoint!).Info.Evaluation!)); // evaluated without mirror images: nothing to warn of
    }

    [Fact]
    public void A_probe_only_run_keeps_the_probed_model_as_epoch_0_and_trains_nothing_else()
    {
        var root = Tiny.TempFolder();
        var config = Tiny.Config(root, epochs: 0, t => t with { LinearProbeEpochs = 10 });
        config = config with { Data = config.Data with { Augmentation = config.Data.Augmentation with { EvalFlip = true } } };
        var output = new StringWriter();
        using var model = Tiny.Model();
        var before = Snapshot(model);
        var result = new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), Tiny.Data(config), new RunContext(new ProgressReporter(output))).Run();

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(0, result.BestEpoch);
        var record = Assert.Single(result.History);
        Assert.Equal(0, record.Epoch);
        Assert.True(record.ValAccuracy > 0 && double.IsFinite(record.ValLoss) && double.IsFinite(record.TrainLoss), $"{record}");
        Assert.Equal(record.ValAccuracy, result.BestValAccuracy);
        Assert.Contains("best epoch 0 (the linear probe)", output.ToString());
        // Only the head moved, and checkpoint_best holds exactly this model.
        var after = model.state_dict();
        foreach (var (key, value) in before)
            Assert.True(key.StartsWith("fc.") ? !Same(value, after[key]) : Same(value, after[key]), key);
        var checkpoint = CheckpointFile.Load(result.BestCheckpoint!);
        Assert.Equal(0, checkpoint.Info.Epoch);
        using var loaded = Tiny.Model();
        checkpoint.LoadModelInto(loaded);
        Assert.True(Same(after["fc.weight"], loaded.state_dict()["fc.weight"]));
        // It was evaluated with mirror images: the checkpoint says so, and an export (which classifies once) warns.
        Assert.True(checkpoint.Info.Evaluation!.Flip);
        Assert.Contains("mirror image", FineTune.Export.ModelExport.FlipNote(checkpoint.Info.Evaluation!));
        Assert.Contains(FineTune.Export.ModelExport.Notes(result.BestCheckpoint!), note => note.Contains("mirror image"));
    }

    [Fact]
    public void Frozen_batchnorm_keeps_running_statistics_but_learns_scale_and_shift()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { FreezeBatchNorm = true });
        using var model = Tiny.Model();
        var before = Snapshot(model);
        new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), Tiny.Data(config), RunContext.Silent()).Run();
        var after = model.state_dict();
        Assert.True(Same(before["bn1.running_mean"], after["bn1.running_mean"]));
        Assert.True(Same(before["layer1.0.bn2.running_var"], after["layer1.0.bn2.running_var"]));
        Assert.False(Same(before["bn1.weight"], after["bn1.weight"]));

        // Without the option the same run moves the statistics: the check above can fail.
        var plain = Tiny.Config(Tiny.TempFolder(), epochs: 1);
        using var other = Tiny.Model();
        new Trainer(plain, new ModelToTrain(other, Preprocessing.ImageNet), Tiny.Data(plain), RunContext.Silent()).Run();
        Assert.False(Same(before["bn1.running_mean"], other.state_dict()["bn1.running_mean"]));
    }

    [Fact]
    public void Frozen_stages_keep_every_weight_and_statistic_while_later_stages_train()
    {
        // AdamW with weight decay: a frozen weight must not even decay.
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { FreezeStages = 2, WeightDecay = 0.1 });
        using var model = Tiny.Model();
        var before = Snapshot(model);
        new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), Tiny.Data(config), RunContext.Silent()).Run();
        var after = model.state_dict();
        foreach (var key in before.Keys.Where(k => k.StartsWith("conv1.") || k.StartsWith("bn1.") || k.StartsWith("layer1.") || k.StartsWith("layer2.")))
            Assert.True(Same(before[key], after[key]), $"{key} changed");
        Assert.False(Same(before["layer3.0.conv1.weight"], after["layer3.0.conv1.weight"]));
        Assert.False(Same(before["layer3.0.bn1.running_mean"], after["layer3.0.bn1.running_mean"]));
    }

    [Fact]
    public void Tiny_models_start_equal_while_another_thread_draws_from_torchs_generator()
    {
        // The comparisons below build two models and expect equal starts; parallel tests share torch's generator.
        bool stop = false;
        var drawer = new Thread(() => { while (!Volatile.Read(ref stop)) randn(64).Dispose(); });
        drawer.Start();
        try
        {
            using var a = Tiny.Model(seed: 17);
            using var b = Tiny.Model(seed: 17);
            Assert.Equal(0, Tiny.MaxDifference(a, b));
        }
        finally { Volatile.Write(ref stop, true); drawer.Join(); }
    }

    [Fact]
    public void Channels_last_trains_like_nchw_and_its_checkpoint_restores_the_same_model()
    {
        // SGD: Adam's normalised steps would blow rounding differences of near-zero gradients up to the rate.
        var nchw = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { Optimizer = OptimizerKind.Sgd });
        using var a = Tiny.Model();
        var ra = new Trainer(nchw, new ModelToTrain(a, Preprocessing.ImageNet), Tiny.Data(nchw), RunContext.Silent()).Run();

        var nhwc = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { Optimizer = OptimizerKind.Sgd, ChannelsLast = true });
        using var b = Tiny.Model();
        var rb = new Trainer(nhwc, new ModelToTrain(b, Preprocessing.ImageNet), Tiny.Data(nhwc), RunContext.Silent()).Run();

        Assert.True(b.state_dict()["conv1.weight"].is_contiguous(), "weights stay NCHW so checkpoints can be written");
        // Same maths in another memory order: only rounding differs.
        output.WriteLine($"channels-last vs NCHW after 3 fp32 steps: weights {Tiny.MaxDifference(a, b):e2}, train loss {Math.Abs(ra.History[0].TrainLoss - rb.History[0].TrainLoss):e2}");
        Assert.True(Tiny.MaxDifference(a, b) < 1e-3, $"weights differ by {Tiny.MaxDifference(a, b)}");
        Assert.Equal(ra.History[0].TrainLoss, rb.History[0].TrainLoss, tolerance: 1e-3);

        using var restored = CheckpointFile.Load(rb.BestCheckpoint!).CreateModel(TestSetup.Routing);
        Assert.Equal(0, Tiny.MaxDifference(b, restored));
    }

    [Fact]
    public void Every_run_writes_a_memory_trace_and_its_growth()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 2);
        var output = new StringWriter();
        new Trainer(config, new ModelToTrain(Tiny.Model(), Preprocessing.ImageNet), Tiny.Data(config), new RunContext(new ProgressReporter(output))).Run();
        var trace = new MemoryTrace();
        trace.Load(Path.Combine(config.Experiment.RunCheckpointDir, "memory.csv"), long.MaxValue);
        Assert.Equal([1, 2], trace.Samples.Where(s => s.AtEpochEnd).Select(s => s.Epoch));
        Assert.All(trace.Samples, s => Assert.True(s.ResidentBytes > 10_000_000, "a process with libtorch loaded holds more than 10 MB"));
        Assert.Contains("Resident memory:", output.ToString());
    }

    [Fact]
    public void Growth_runs_from_the_first_epoch_end_to_the_last_sample_up_to_the_step()
    {
        var folder = Tiny.TempFolder();
        var csv = Path.Combine(folder, "memory.csv");
        File.WriteAllText(csv, "step,epoch,rss_bytes,epoch_end\n10,1,900,0\n20,1,1000,1\n500,3,1100,0\n1000,6,1020,0\n1010,6,5000,0\n");
        var trace = new MemoryTrace();
        trace.Load(csv, upToStep: long.MaxValue);
        var growth = trace.Growth(1000)!;
        Assert.Equal(20, growth.From.Step);
        Assert.Equal(1000, growth.To.Step);
        Assert.Equal(0.02, growth.Fraction, 6);
        Assert.Equal(1100, growth.PeakBetween);

        var resumed = new MemoryTrace();
        resumed.Load(csv, upToStep: 500);
        Assert.Equal(3, resumed.Samples.Count);
    }
}
