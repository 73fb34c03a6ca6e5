using FineTune.Comparison;
using FineTune.Kernels;
using FineTune.Training.Checkpoints;
using Xunit;

namespace FineTune.Tests.Training;

/// <summary>
/// `finetune train` killed with SIGKILL while it writes a checkpoint (the worst moment for a file on disk), then
/// resumed as the next start tells the user to: only whole checkpoints are ever read, and the resumed run ends
/// with the weights of a run that was never interrupted.
/// </summary>
public class KillDuringCheckpointTests(Xunit.Abstractions.ITestOutputHelper output)
{
    const string Target = "checkpoint_epoch_2.ckpt";
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    static string Config(string dir)
    {
        // channels_last off and the ISA capped at AVX2: the start after an unexplained death steps the kernels down
        // (channels-last off, a lower oneDNN ISA), and from here that step is the same kernels, so the comparison
        // below measures checkpoint and resume alone. One thread and frozen BatchNorm: two runs are bit-identical.
        File.WriteAllText(Path.Combine(dir, "run.yaml"),
            "data:\n  source: synthetic\n  synthetic_images_per_class: 8\n  image_size: 64\n  batch_size: 4\n  seed: 5\n" +
            "model:\n  backbone: resnet18\n  pretrained: false\n  num_classes: 3\n" +
            "training:\n  num_epochs: 3\n  threads: 1\n  optimizer: sgd\n  base_lr: 0.01\n  channels_last: false\n  early_stopping: 0\n  freeze_batchnorm: true\n" +
            $"experiment:\n  name: run\n  checkpoint_dir: {dir}/ckpt\n  log_dir: {dir}/logs\n  export_pytorch: false\n  save_best_only: false\n  save_every: 1\n");
        return Path.Combine(dir, "run.yaml");
    }

    static Dictionary<string, string> Env(string home) => new() { ["FINETUNE_HOME"] = home, [OneDnnIsa.Variable] = "AVX2" };

    static string RunFolder(string dir) => Path.Combine(dir, "ckpt", "run");

    /// <summary>AtomicWrite's temporary files for the target checkpoint: present only while it is being written.</summary>
    static string[] TargetWrites(string folder) => Directory.Exists(folder) ? Directory.GetFiles(folder, $".{Target}.*.tmp") : [];

    /// <summary>A target write a megabyte in (past checkpoint.json, inside the tensors), once there is one.</summary>
    static string? MidWrite(string folder) =>
        TargetWrites(folder).FirstOrDefault(f => { try { return new FileInfo(f).Length > (1 << 20); } catch (IOException) { return false; } });

    static double Difference(string a, string b)
    {
        using var ma = CheckpointFile.Load(a).CreateModel(TestSetup.Routing);
        using var mb = CheckpointFile.Load(b).CreateModel(TestSetup.Routing);
        return Tiny.MaxDifference(ma, mb);
    }

    [Fact]
    public void A_kill_while_a_checkpoint_is_written_leaves_whole_checkpoints_and_resume_ends_where_an_unbroken_run_does()
    {
        var root = Tiny.TempFolder();
        var home = Path.Combine(root, "home");
        var reference = Directory.CreateDirectory(Path.Combine(root, "reference")).FullName;
        FinetuneProgram.Run(reference, Env(home), "train", "--config", Config(reference)).Succeeded();
        var complete = Path.Combine(RunFolder(reference), Target);

        // The kill lands once the temporary file appears; where it really landed is read off the disk afterwards.
        string dir = "", folder = "";
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            dir = Directory.CreateDirectory(Path.Combine(root, $"killed-{attempt}")).FullName;
            folder = RunFolder(dir);
            var run = folder;
            var kill = KillAt.Run(dir, Env(home), () => MidWrite(run), Limit, "train", "--config", Config(dir));
            Assert.True(kill.Seen is not null, $"the write of {Target} was never seen: exit {kill.Result.Code}\n{kill.Result.Out}\n{kill.Result.Err}");
            Assert.Equal(137, kill.Result.Code); // 128 + SIGKILL
            var torn = TargetWrites(folder).Where(f => new FileInfo(f).Length < new FileInfo(complete).Length).ToArray();
            output.WriteLine(torn.Length > 0
                ? $"attempt {attempt}: killed inside the write of {Target}, {new FileInfo(torn[0]).Length:N0} of {new FileInfo(complete).Length:N0} bytes in {Path.GetFileName(torn[0])}"
                : $"attempt {attempt}: killed after the write of {Target} was whole ({(File.Exists(Path.Combine(folder, Target)) ? "renamed into place" : "not yet renamed")})");
            if (torn.Length > 0) break;
        }

        // Every checkpoint on disk reads, and is the one an unbroken run wrote for that epoch.
        var leftovers = Directory.GetFiles(folder, ".*.tmp");
        var checkpoints = Directory.GetFiles(folder, "*.ckpt");
        Assert.NotEmpty(checkpoints);
        foreach (var path in checkpoints)
        {
            var epoch = CheckpointFile.Load(path).Info.Epoch;
            var difference = Difference(path, Path.Combine(RunFolder(reference), $"checkpoint_epoch_{epoch}.ckpt"));
            output.WriteLine($"{Path.GetFileName(path)}: epoch {epoch}, differs from the unbroken run's by {difference:G3}");
            Assert.True(difference <= 1e-6, $"{Path.GetFileName(path)} is not the unbroken run's epoch {epoch} ({difference})");
        }
        foreach (var torn in leftovers.Where(f => new FileInfo(f).Length < new FileInfo(complete).Length))
            Assert.Throws<CheckpointException>(() => CheckpointFile.Load(torn));
        Assert.True(File.Exists(Path.Combine(folder, RunMarker.FileName)), "the killed run's marker stays for the next start");

        // The next start says what happened and removes the torn file; resuming from the newest checkpoint, as it advises.
        var newest = checkpoints.OrderByDescending(File.GetLastWriteTimeUtc).First();
        var resumed = FinetuneProgram.Run(dir, Env(home), "train", "--config", Config(dir), "--resume", newest).Succeeded();
        output.WriteLine(resumed.Out.Split('\n').First(l => l.Contains("ended without finishing", StringComparison.Ordinal)));
        Assert.Contains("ended without finishing and without a message", resumed.Out);
        Assert.Contains($"--resume {newest}", resumed.Out);
        foreach (var leftover in leftovers) Assert.Contains(Path.GetFileName(leftover), resumed.Out);
        Assert.Empty(Directory.GetFiles(folder, ".*.tmp"));
        Assert.False(File.Exists(Path.Combine(folder, RunMarker.FileName)), "a finished run removes its marker");

        var final = Path.Combine(folder, "checkpoint_epoch_3.ckpt");
        var unbroken = Path.Combine(RunFolder(reference), "checkpoint_epoch_3.ckpt");
        Assert.True(Difference(Path.Combine(RunFolder(reference), "checkpoint_epoch_1.ckpt"), unbroken) > 1e-4, "epochs must change the weights, or the test proves nothing");
        var end = Difference(final, unbroken);
        output.WriteLine($"resumed from {Path.GetFileName(newest)}: final weights differ from the unbroken run's by {end:G3}");
        Assert.True(end <= 1e-6, $"resumed run ends {end} away from the unbroken one");
        Assert.Equal(ResultsFile.Read(Path.Combine(RunFolder(reference), ResultsFile.FileName)).History.Select(h => h.ValLoss),
                     ResultsFile.Read(Path.Combine(folder, ResultsFile.FileName)).History.Select(h => h.ValLoss));
    }
}
