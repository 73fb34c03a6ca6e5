using FineTune.Training.Checkpoints;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Distributed;

/// <summary>
/// The real thing, through `finetune train` (TrainCommand, Trainer, the synthetic data sharded by rank): 2 ranks of
/// batch b end with the weights of 1 process of batch 2b after several SGD steps. Gradient clipping is on and active,
/// so the clip must act on the averaged gradient, as in DDP.
/// </summary>
[Collection("mpirun")]
public sealed class TrainerEquivalenceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-ddp-trainer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// 24 images of 3 classes, 2 epochs: 3 steps of 8 images per epoch, 6 in all. 48 px, so that layer4's BatchNorm sees
    /// 2x2 positions per image: at 32 px (1x1) its batch statistics over 8 values are so ill-conditioned that float
    /// rounding alone grew from 1e-6 to 1e-3 in three steps.
    /// </summary>
    string Config(string name, int batch, string batchNorm, double lr)
    {
        var path = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(path, $"""
            data:
              source: synthetic
              synthetic_images_per_class: 8
              image_size: 48
              batch_size: {batch}
              num_workers: 1
              seed: 3
            model:
              backbone: resnet18
              pretrained: false
              num_classes: 3
            training:
              num_epochs: 2
              optimizer: sgd
              base_lr: {lr.ToString(System.Globalization.CultureInfo.InvariantCulture)}
              scheduler: none
              threads: 1
              grad_clip: 0.5
              {batchNorm}
            experiment:
              name: {name}
              checkpoint_dir: {Path.Combine(_dir, "checkpoints")}
              log_dir: {Path.Combine(_dir, "logs")}
              save_best_only: false
              save_every: 1
            """);
        return path;
    }

    Dictionary<string, Tensor> Weights(string name, int epoch)
    {
        var checkpoint = CheckpointFile.Load(Path.Combine(_dir, "checkpoints", name, $"checkpoint_epoch_{epoch}.ckpt"));
        using var model = checkpoint.CreateModel();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float64));
    }

    /// <summary>
    /// The largest difference over the state dict: absolute for values up to 1, relative above (BatchNorm's running
    /// variances of a network trained from scratch reach the hundreds, where float32 carries 1e-5 of absolute rounding).
    /// </summary>
    static (double Value, string Key) MaxDifference(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Keys.Where(k => !k.EndsWith("num_batches_tracked")).Select(k => (((a[k] - b[k]).abs() / b[k].abs().clamp_min(1)).max().item<double>(), k)).MaxBy(d => d.Item1);
    }

    static void Succeeded(MpiJob.Result r)
    {
        Assert.False(r.TimedOut, $"the job did not end within {MpiJob.Bound}:\n{r.Output}");
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
    }

    [MpiTheory]
    // BatchNorm on its running statistics: per-rank and global batches normalise alike. Clipping each rank's gradient
    // before the all-reduce put this run 1.1e-3 away from one process.
    [InlineData("freeze_batchnorm: true", 0.05)]
    // BatchNorm on batch statistics, synchronised over the ranks. At a rate of 0.05 the batch statistics of layer4
    // (8 images x 2x2 positions) amplify float rounding to 4e-4 in six steps; at 0.01 the runs agree well within the bar.
    [InlineData("sync_batchnorm: true", 0.01)]
    public void Two_ranks_of_batch_b_through_the_trainer_equal_one_process_of_batch_2b(string batchNorm, double lr)
    {
        Succeeded(MpiJob.RunSingle("train", "--config", Config("one", 8, batchNorm, lr)));
        var two = MpiJob.RunRanks(2, "train", "--config", Config("two", 4, batchNorm, lr), "--distributed");
        Succeeded(two);
        Assert.Contains("2 ranks, batch 4 each", two.Output);

        var single = Weights("one", 2);
        var (difference, where) = MaxDifference(single, Weights("two", 2));
        Assert.True(difference < 1e-4, $"after 6 steps 2 ranks differ from 1 process by {difference} (in {where}):\n{two.Output}");
        // The bar means something: the second epoch alone moved the weights far beyond it.
        var moved = MaxDifference(single, Weights("one", 1));
        Assert.True(moved.Value > 1e-3, $"epoch 2 moved the weights by only {moved.Value} (in {moved.Key})");
    }
}
