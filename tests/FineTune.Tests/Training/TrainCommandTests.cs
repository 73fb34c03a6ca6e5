using System.Diagnostics;
using FineTune.Cli.Commands;
using FineTune.Config;
using FineTune.Tests.Config;
using FineTune.Training.Checkpoints;
using Xunit;

namespace FineTune.Tests.Training;

/// <summary>The real `finetune` program, run as a process: exit codes, one-line errors, signals.</summary>
public class TrainCommandTests
{
    static readonly string Program = Path.Combine(Path.GetDirectoryName(typeof(TrainCommand).Assembly.Location)!, "finetune");

    static Process Start(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo(Program) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    static (int Code, string Out, string Err) Run(string workDir, params string[] args)
    {
        using var p = Start(workDir, args);
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    static string TinyYaml(string dir, int epochs, string extra = "") =>
        $"data:\n  source: synthetic\n  synthetic_images_per_class: 6\n  image_size: 32\n  batch_size: 4\n{extra}" +
        $"model:\n  backbone: resnet18\n  pretrained: false\n  num_classes: 3\n" +
        $"training:\n  num_epochs: {epochs}\n  threads: 1\n" +
        $"experiment:\n  name: cli\n  checkpoint_dir: {dir}/ckpt\n  log_dir: {dir}/logs\n  export_pytorch: false\n";

    [Fact]
    public void Dry_run_prints_the_resolved_config_and_trains_nothing()
    {
        var dir = Tiny.TempFolder();
        var config = RepoFiles.Path("configs", "resnet18_finetune.yaml");
        var (code, output, err) = Run(dir, "train", "--config", config, "--dry-run", "--experiment_name", "renamed");
        Assert.True(code == 0, err);
        var printed = ConfigLoader.Parse(output, "stdout");
        var expected = ConfigLoader.Load(config);
        Assert.Equal(expected with { Experiment = expected.Experiment with { Name = "renamed" }, Source = "stdout" }, printed);
        Assert.Contains("finetune data prepare", output); // the dataset is not there in a fresh folder
        Assert.False(Directory.Exists(Path.Combine(dir, "outputs")));
    }

    [Fact]
    public void Seed_trains_the_config_on_another_split_under_its_own_name()
    {
        var dir = Tiny.TempFolder();
        var config = RepoFiles.Path("configs", "resnet18_fast_cpu.yaml");
        var (code, output, err) = Run(dir, "train", "--config", config, "--dry-run", "--seed", "43");
        Assert.True(code == 0, err);
        var printed = ConfigLoader.Parse(output, "stdout");
        var expected = ConfigLoader.Load(config);
        Assert.Equal(expected with
        {
            Data = expected.Data with { Seed = 43 },
            Experiment = expected.Experiment with { Name = "resnet18_fast_cpu_seed43" },
            Source = "stdout",
        }, printed);
        // The config's own seed is the original experiment, unrenamed.
        (code, output, err) = Run(dir, "train", "--config", config, "--dry-run", "--seed", expected.Data.Seed.ToString());
        Assert.True(code == 0, err);
        Assert.Equal(expected with { Source = "stdout" }, ConfigLoader.Parse(output, "stdout"));
        Assert.Equal(2, Run(dir, "train", "--config", config, "--dry-run", "--seed", "x").Code);
    }

    [Fact]
    public void A_config_error_is_one_line_naming_file_line_and_key()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "bad.yaml"), "training:\n  num_epochs: 3\n  base_lrr: 0.1\n");
        var (code, _, err) = Run(dir, "train", "--config", "bad.yaml");
        Assert.Equal(1, code);
        Assert.Equal("finetune: bad.yaml:3: training.base_lrr is not a known key", err.Trim().Split(';')[0]);
        Assert.Single(err.Trim().Split('\n'));
    }

    [CpuOnlyFact]
    public void Gpu_on_a_cpu_build_names_the_cuda_build_switch()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "c.yaml"), TinyYaml(dir, 1));
        var (code, _, err) = Run(dir, "train", "--config", "c.yaml", "--gpu", "0");
        Assert.Equal(2, code);
        Assert.Contains("-p:FineTuneBackend=cuda", err);
    }

    [Fact]
    public void A_missing_dataset_is_reported_before_training_with_how_to_get_it()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "c.yaml"), "data:\n  data_dir: nowhere/caltech\nmodel:\n  pretrained: true\n");
        var (code, output, err) = Run(dir, "train", "--config", "c.yaml");
        Assert.Equal(1, code);
        Assert.DoesNotContain("Model:", output); // refused before any weights are loaded
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("nowhere/caltech", err);
        Assert.Contains("finetune data prepare", err);
    }

    [Fact]
    public async Task Sigterm_finishes_the_step_writes_a_resumable_checkpoint_and_exits_non_zero()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "long.yaml"), TinyYaml(dir, 1000));
        using var p = Start(dir, "train", "--config", "long.yaml");
        var err = p.StandardError.ReadToEndAsync();
        var seen = new List<string>();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null)
        {
            seen.Add(line);
            if (line.StartsWith("Epoch 1/1000 train 2/", StringComparison.Ordinal)) break; // training is under way
        }
        if (line is null) Assert.Fail("training never started: " + string.Join("\n", seen) + await err);
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()])) kill.WaitForExit();
        var rest = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "the trainer did not stop after SIGTERM");

        Assert.Equal(143, p.ExitCode);
        Assert.Contains("SIGTERM", await err);
        Assert.Contains("--resume", rest);
        var checkpointPath = Path.Combine(dir, "ckpt", "cli", "checkpoint_interrupted.ckpt");
        var checkpoint = CheckpointFile.Load(checkpointPath);
        Assert.Equal("interrupted", checkpoint.Info.Reason);

        // The same run, told to stop at epoch 2, resumes from it and finishes.
        File.WriteAllText(Path.Combine(dir, "short.yaml"), TinyYaml(dir, 2));
        var (code, output, resumeErr) = Run(dir, "train", "--config", "short.yaml", "--resume", checkpointPath);
        Assert.True(code == 0, resumeErr);
        Assert.Contains("Resuming from", output);
        Assert.Contains("best epoch", output);
    }
}
