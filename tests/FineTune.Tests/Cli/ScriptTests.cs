using FineTune.Cli.Commands;
using FineTune.Comparison;
using FineTune.Config;
using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Tests.Config;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>train.sh and test.sh at the repository root, run with bash against the built program (FINETUNE).</summary>
public class ScriptTests
{
    static ProcessResult Bash(string script, params string[] args) =>
        Processes.Run("bash", [script, .. args], environment: new Dictionary<string, string> { ["FINETUNE"] = FinetuneProgram.Path });

    /// <summary>A copy of a root script with the finder of the program it sources, as in the repository.</summary>
    static void CopyScript(string script, string root)
    {
        File.Copy(RepoFiles.Path(script), Path.Combine(root, script));
        Directory.CreateDirectory(Path.Combine(root, "tools"));
        File.Copy(RepoFiles.Path("tools/finetune-program.sh"), Path.Combine(root, "tools", "finetune-program.sh"));
    }

    [Fact]
    public void Train_sh_runs_the_seed_s_two_resnet18_configs()
    {
        // --dry-run goes through to `finetune train`: both configs are resolved, nothing is trained.
        var result = Bash(RepoFiles.Path("train.sh"), "--dry-run").Succeeded();
        foreach (var name in new[] { "resnet18_finetune", "resnet18_scratch" })
        {
            Assert.Contains($"== training {name}", result.Out);
            Assert.Contains($"  name: {name}", result.Out);
        }
        Assert.Contains("pretrained: false", result.Out);
    }

    [Fact]
    public void Test_sh_tests_both_best_checkpoints_and_prints_the_table()
    {
        // The layout train.sh leaves (configs/, outputs/checkpoints/<name>/ with split.json, checkpoint_best.ckpt and
        // results.json), on a tiny image folder instead of Caltech-101, next to a copy of test.sh.
        var root = Tiny.TempFolder();
        CopyScript("test.sh", root);
        FinetuneProgram.Run(root, "data", "synth", "--out", "data", "--classes", "3", "--per-class", "9", "--size", "32").Succeeded();
        Directory.CreateDirectory(Path.Combine(root, "configs"));
        foreach (var (name, mode) in new[] { ("resnet18_finetune", TrainingMode.Finetune), ("resnet18_scratch", TrainingMode.Scratch) })
        {
            var configPath = Path.Combine(root, "configs", $"{name}.yaml");
            File.WriteAllText(configPath,
                $"data:\n  data_dir: {root}/data\n  batch_size: 8\n  num_workers: 1\n  image_size: 32\n" +
                $"model:\n  backbone: resnet18\n  pretrained: false\n  num_classes: 3\n" +
                $"experiment:\n  name: {name}\n  checkpoint_dir: {root}/outputs/checkpoints\n  log_dir: {root}/outputs/logs\n");
            var config = ConfigLoader.Load(configPath);
            var folder = config.Experiment.RunCheckpointDir;
            var split = SplitManifest.LoadOrCreate(folder, config.Data.DataDir, SplitRatios.Seed, (ulong)config.Data.Seed);
            FolderExperiment.SaveCheckpoint(Path.Combine(folder, "checkpoint_best.ckpt"), config, split.Classes, FolderTrainingData.ManifestHash(folder));
            ResultsFile.Write(folder, RunResult.FromHistory(name, "resnet18", mode, [new EpochRecord(1, 1, 0.5, 1, 0.4)], 1));
        }

        var result = Bash(Path.Combine(root, "test.sh")).Succeeded();

        foreach (var name in new[] { "resnet18_finetune", "resnet18_scratch" })
            Assert.True(File.Exists(Path.Combine(root, "outputs", "test_reports", name, TestReport.ReportTextFile)), $"no report for {name}");
        Assert.Equal(2, result.Out.Split("Test accuracy:").Length - 1);
        Assert.Contains("| ResNet-18 (pretrained, fine-tuned) | 1 |", result.Out);
        Assert.Contains("| ResNet-18 (random init, from scratch) | 1 |", result.Out);
        Assert.DoesNotContain(ResultsTable.NotTested, result.Out);
        Assert.True(File.Exists(Path.Combine(root, "outputs", "compare", ComparisonReport.CurvesFile)));
    }

    [Fact]
    public void Test_sh_without_checkpoints_says_to_train_first()
    {
        var root = Tiny.TempFolder();
        CopyScript("test.sh", root);
        var result = Bash(Path.Combine(root, "test.sh"));
        Assert.Equal(1, result.Code);
        Assert.Contains("outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt not found; run ./train.sh first", result.Err);
    }
}
