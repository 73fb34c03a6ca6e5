using FineTune.Data;
using Xunit;

namespace FineTune.Tests.Distributed;

/// <summary>
/// `mpirun -np 2 finetune train --config F --distributed` end to end on a tiny image folder: the ranks train one
/// model, only rank 0 writes, and `--resume` continues with another number of processes.
/// </summary>
[Collection("mpirun")]
public sealed class DistributedTrainCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-ddp-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WriteConfig(int epochs)
    {
        var data = Path.Combine(_dir, "data");
        if (!Directory.Exists(data)) SyntheticDataset.Write(data, classes: 3, perClass: 12, seed: 5);
        var path = Path.Combine(_dir, $"tiny{epochs}.yaml");
        File.WriteAllText(path, $"""
            data:
              data_dir: {data}
              batch_size: 4
              num_workers: 1
              image_size: 32
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
            experiment:
              name: ddp_tiny
              checkpoint_dir: {Path.Combine(_dir, "checkpoints")}
              log_dir: {Path.Combine(_dir, "logs")}
            """);
        return path;
    }

    [MpiFact]
    public void Two_ranks_train_one_model_and_a_single_process_resumes_it()
    {
        var twoRanks = MpiJob.RunRanks(2, "train", "--config", WriteConfig(1), "--distributed");
        Assert.False(twoRanks.TimedOut, twoRanks.Output);
        Assert.True(twoRanks.ExitCode == 0, $"exit {twoRanks.ExitCode}:\n{twoRanks.Output}");
        Assert.Contains("2 ranks", twoRanks.Output);
        // Only rank 0 reports: one summary line per epoch, not one per rank.
        Assert.Single(twoRanks.Output.Split('\n'), l => l.StartsWith("Epoch 1/1:", StringComparison.Ordinal));
        var folder = Path.Combine(_dir, "checkpoints", "ddp_tiny");
        Assert.True(File.Exists(Path.Combine(folder, "checkpoint_best.ckpt")));
        Assert.True(File.Exists(Path.Combine(folder, "results.json")));

        var resumed = MpiJob.RunSingle("train", "--config", WriteConfig(2), "--resume", Path.Combine(folder, "checkpoint_epoch_1.ckpt"));
        Assert.True(resumed.ExitCode == 0, $"exit {resumed.ExitCode}:\n{resumed.Output}");
        Assert.Contains("1 epoch(s) done", resumed.Output);
        Assert.Contains("Epoch 2/2:", resumed.Output);
    }
}
