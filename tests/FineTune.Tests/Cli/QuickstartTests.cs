using FineTune.Comparison;
using FineTune.Data;
using FineTune.Data.Archives;
using FineTune.Tests.Data;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>The main job, run as a new user runs it: `finetune quickstart` in an empty folder.</summary>
[Collection("mpirun")] // trains two ResNet-18s: not alongside the other heavy jobs on two cores
public sealed class QuickstartTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-quickstart-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static (RunResult Finetune, RunResult Scratch) Results(string workDir)
    {
        var checkpoints = Path.Combine(workDir, "outputs", "quickstart", "checkpoints");
        return (ResultsFile.Read(Path.Combine(checkpoints, "quickstart_resnet18_finetune", ResultsFile.FileName)),
                ResultsFile.Read(Path.Combine(checkpoints, "quickstart_resnet18_scratch", ResultsFile.FileName)));
    }

    [Fact]
    public void With_no_dataset_it_trains_tests_and_compares_on_synthetic_images()
    {
        var run = FinetuneProgram.Run(_dir, "quickstart", "--epochs", "1").Succeeded();
        Assert.Contains("synthetic images", run.Out);
        Assert.Contains("| ResNet-18 (pretrained, fine-tuned) | 1 |", run.Out);
        Assert.Contains("| ResNet-18 (random init, from scratch) | 1 |", run.Out);
        var (finetune, scratch) = Results(_dir);
        Assert.NotNull(finetune.TestAccuracy);
        Assert.NotNull(scratch.TestAccuracy);
        var quickstart = Path.Combine(_dir, "outputs", "quickstart");
        Assert.True(File.Exists(Path.Combine(quickstart, "compare", "results_table.md")));
        Assert.True(File.Exists(Path.Combine(quickstart, "compare", "val_accuracy_curves.png")));
        Assert.True(File.Exists(Path.Combine(quickstart, "test_reports", "quickstart_resnet18_finetune", "classification_report.txt")));
        Assert.True(File.Exists(Path.Combine(quickstart, "configs", "quickstart_resnet18_scratch.yaml")));
    }

    /// <summary>Issue 4's opt-in check: on ten real Caltech-101 classes, pretraining wins by a wide margin.</summary>
    [CaltechFact]
    public void On_ten_caltech_classes_the_pretrained_run_beats_scratch_by_a_wide_margin()
    {
        DatasetPreparer.Prepare(CaltechFactAttribute.Archive!, Path.Combine(_dir, "data", "caltech-101"));
        var run = FinetuneProgram.Run(_dir, "quickstart", "--epochs", "3").Succeeded();
        Assert.Contains("Caltech-101 classes", run.Out);
        var (finetune, scratch) = Results(_dir);
        Assert.True(finetune.TestAccuracy >= scratch.TestAccuracy + 0.20,
            $"fine-tuned {finetune.TestAccuracy:P2} vs scratch {scratch.TestAccuracy:P2}:\n{run.Out}");
    }
}
