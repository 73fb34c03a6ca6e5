using System.Text.RegularExpressions;
using FineTune.Config;
using FineTune.Data;
using FineTune.Tests.Data;
using Xunit;

namespace FineTune.Tests.Distributed;

/// <summary>
/// What goes wrong on one rank must end the same way on every rank, through `finetune train` as the program runs it:
/// a non-finite loss, a file that no longer decodes, a linear probe with unequal shards, a graceful stop by SIGUSR1.
/// Each job is bounded (<see cref="MpiJob.Bound"/>): a rank left waiting in a collective fails the test instead of hanging it.
/// </summary>
[Collection("mpirun")]
public sealed class DistributedFailureTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-ddp-fail-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Folder => Path.Combine(_dir, "checkpoints", "run");

    /// <summary>A config for a tiny ResNet-18 run; <paramref name="data"/> is the data section's body.</summary>
    string Config(string data, int epochs, string training = "")
    {
        var path = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(path, $"""
            data:
            {data}
              image_size: 32
              num_workers: 1
              seed: 5
            model:
              backbone: resnet18
              pretrained: false
              num_classes: 3
            training:
              num_epochs: {epochs}
              optimizer: sgd
              base_lr: 0.01
              scheduler: none
              threads: 1
            {training}
            experiment:
              name: run
              checkpoint_dir: {Path.Combine(_dir, "checkpoints")}
              log_dir: {Path.Combine(_dir, "logs")}
            """.Replace("\n\n", "\n"));
        return path;
    }

    /// <summary>The host serves synthetic images as its own data (TrainOptions.Data); the config still names a folder with one class folder.</summary>
    string HostData(int perClass, int batch)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "seam", "unused"));
        return $"  data_dir: {Path.Combine(_dir, "seam")}\n  synthetic_images_per_class: {perClass}\n  batch_size: {batch}";
    }

    static void NoHang(MpiJob.Result r) => Assert.False(r.TimedOut, $"a rank was left waiting: the job did not end within {MpiJob.Bound}:\n{r.Output}");

    /// <summary>Ranks that all reach MPI_Finalize: mpirun says nothing of processes that exited without it.</summary>
    static void EndedTogether(MpiJob.Result r)
    {
        Assert.DoesNotContain("exiting improperly", r.Output);
        Assert.DoesNotContain("without calling \"finalize\"", r.Output);
    }

    [MpiFact]
    public void A_non_finite_loss_on_one_rank_stops_every_rank_and_rank_0_names_it()
    {
        // Rank 1's second batch is NaN pixels; rank 0's are fine.
        var r = MpiJob.RunHost(2, "train-nan", "1", "2", "train", "--config", Config(HostData(8, 4), 2), "--distributed");
        NoHang(r);
        Assert.True(r.ExitCode == 1, $"exit code {r.ExitCode}:\n{r.Output}");
        // Once, from rank 0 (a progress bar may precede it on the same line).
        Assert.Single(Regex.Matches(r.Output, "Training stopped: the loss became NaN on rank 1 of 2 at epoch 1, step 2 "));
        EndedTogether(r);
        Assert.False(File.Exists(Path.Combine(Folder, "checkpoint_best.ckpt")));
    }

    [MpiFact]
    public void A_file_that_no_longer_decodes_is_replaced_so_every_rank_takes_the_same_steps_and_is_reported_once()
    {
        var data = Path.Combine(_dir, "images");
        SyntheticDataset.Write(data, classes: 3, perClass: 6, seed: 5, size: 24);
        var config = Config($"  data_dir: {data}\n  batch_size: 1", 2);
        // The split is made first (as a first run would), then a training image breaks: with batch 1 its whole batch is
        // unreadable. The manifest takes the broken file's hash, as for a file that the scan's check let through.
        var d = ConfigLoader.Load(config).Data;
        var manifest = SplitManifest.LoadOrCreate(Folder, data, new SplitRatios(d.TrainSize, d.ValSize, d.TestSize), (ulong)d.Seed);
        var entry = manifest.Of(Split.Train).First();
        var broken = entry.Path;
        var bytes = ImageDecoderTests.Broken("truncated");
        File.WriteAllBytes(Path.Combine(data, broken), bytes);
        var split = Path.Combine(Folder, SplitManifest.FileName);
        File.WriteAllText(split, File.ReadAllText(split).Replace(entry.Sha256, DatasetScan.Sha256Hex(bytes)));

        var r = MpiJob.RunRanks(2, "train", "--config", config, "--distributed");
        NoHang(r);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
        Assert.Contains("Epoch 2/2:", r.Output);
        Assert.Single(r.Output.Split('\n'), l => l.Contains($"Unreadable image {broken} (", StringComparison.Ordinal));
        EndedTogether(r);
    }

    [MpiFact]
    public void A_linear_probe_with_one_feature_fewer_on_one_rank_takes_the_same_steps_on_every_rank()
    {
        // 65 probe images on rank 0 and 64 on rank 1: 2 batches of 64 against 1 without the agreement.
        var config = Config(HostData(24, 8), 1, "  linear_probe_epochs: 2");
        var r = MpiJob.RunHost(2, "train-uneven-probe", "65,64", "train", "--config", config, "--distributed");
        NoHang(r);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
        Assert.Contains("rank 0: 65 probe images", r.Output);
        Assert.Contains("rank 1: 64 probe images", r.Output);
        Assert.Contains("Linear probe: 2 epochs", r.Output);
        Assert.Contains("Epoch 1/1:", r.Output);
        EndedTogether(r);
    }

    [MpiFact]
    public void Sigusr1_to_mpirun_stops_every_rank_like_sigterm_with_a_resumable_checkpoint()
    {
        var config = Config("  source: synthetic\n  synthetic_images_per_class: 200\n  batch_size: 4", 3);
        var r = MpiJob.RunRanksAndSignal(2, after: "Data: ", signal: "USR1", "train", "--config", config, "--distributed");
        NoHang(r);
        Assert.True(r.Signalled, r.Output);
        Assert.True(r.ExitCode == 143, $"exit code {r.ExitCode} (SIGTERM's is 143):\n{r.Output}");
        Assert.Contains("finetune: SIGUSR1 received; finishing the current step", r.Output);
        Assert.Matches(@"Stopped by SIGUSR1 (in epoch 1 after step \d+|after epoch \d+); resume with: finetune train --config ", r.Output);
        Assert.True(File.Exists(Path.Combine(Folder, "checkpoint_interrupted.ckpt")), r.Output);
        EndedTogether(r);
    }
}
