using System.Globalization;
using System.Text.Json;
using FineTune.Comparison;
using FineTune.Config;
using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>`finetune test`: the checkpoint's own test split, the seed's report files, and clear refusals.</summary>
public class TestCommandTests
{
    static ProcessResult Test(FolderExperiment e, string config, params string[] extra) =>
        FinetuneProgram.Run(e.Root, ["test", "--config", config, "--model_path", e.CheckpointPath, "--output_dir", Path.Combine(e.Root, "reports"), .. extra]);

    [Fact]
    public void Writes_every_report_file_for_the_saved_test_split_and_records_the_test_accuracy()
    {
        var e = new FolderExperiment();
        var result = Test(e, e.ConfigPath).Succeeded();

        var reportDir = Path.Combine(e.Root, "reports", "folder_run");
        foreach (var file in new[] { TestReport.ReportTextFile, TestReport.ReportJsonFile, TestReport.ConfusionCsvFile, TestReport.ConfusionPngFile, TestReport.MisclassifiedCsvFile, TestReport.SummaryJsonFile, FineTune.Reports.HtmlReport.FileName })
            Assert.True(new FileInfo(Path.Combine(reportDir, file)).Length > 0, $"{file} missing or empty");

        // The test split is exactly the manifest's, image for image.
        var testImages = e.Manifest.Of(Split.Test).Select(x => x.Path).Order(StringComparer.Ordinal).ToList();
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(reportDir, TestReport.SummaryJsonFile)));
        Assert.Equal(testImages.Count, summary.RootElement.GetProperty("sample_count").GetInt32());
        var misclassified = File.ReadAllLines(Path.Combine(reportDir, TestReport.MisclassifiedCsvFile)).Skip(1).ToList();
        Assert.Equal(summary.RootElement.GetProperty("misclassified_count").GetInt32(), misclassified.Count);
        Assert.All(misclassified, line => Assert.Contains(testImages, p => line.Contains(p, StringComparison.Ordinal)));

        // Printed: accuracy, top-5 and test time, matching the written summary.
        double accuracy = summary.RootElement.GetProperty("accuracy").GetDouble();
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Test accuracy: {100 * accuracy:F2}%"), result.Out);
        // 3 classes put every true class in the top 5; what this checks is that the printed figure is the summary's
        // (top-5 itself is tested with seven classes in ClassificationMetricsTests and TestReportTests).
        double top5 = summary.RootElement.GetProperty("top5_accuracy").GetDouble();
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"top-5: {100 * top5:F2}%"), result.Out);
        Assert.Contains("Test time:", result.Out);

        // results.json of the experiment now carries the test accuracy, for `finetune compare`.
        Assert.Equal(accuracy, ResultsFile.Read(Path.Combine(e.ExperimentDir, ResultsFile.FileName)).TestAccuracy);
    }

    [Fact]
    public void A_folder_run_trained_by_the_train_command_is_tested_on_the_split_it_saved()
    {
        var e = new FolderExperiment(trained: false);
        FinetuneProgram.Run(e.Root, "train", "--config", e.ConfigPath).Succeeded();
        var testImages = e.Manifest.Of(Split.Test).Count();

        var result = Test(e, e.ConfigPath).Succeeded();
        Assert.Contains($"Test split: {testImages} images in 3 classes", result.Out);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(e.Root, "reports", "folder_run", TestReport.SummaryJsonFile)));
        Assert.Equal(testImages, summary.RootElement.GetProperty("sample_count").GetInt32());
        Assert.Equal(summary.RootElement.GetProperty("accuracy").GetDouble(), ResultsFile.Read(Path.Combine(e.ExperimentDir, ResultsFile.FileName)).TestAccuracy);
    }

    [Fact]
    public void A_checkpoint_of_another_class_count_or_backbone_is_refused_in_one_line()
    {
        var e = new FolderExperiment();
        var otherClasses = Path.Combine(e.Root, "five.yaml");
        File.WriteAllText(otherClasses, e.Yaml(numClasses: 5));
        var result = Test(e, otherClasses);
        Assert.Equal(1, result.Code);
        Assert.Single(result.Err.Trim().Split('\n'));
        Assert.Contains("has 3 classes", result.Err);
        Assert.Contains("model.num_classes: 3", result.Err);

        var otherBackbone = Path.Combine(e.Root, "r34.yaml");
        File.WriteAllText(otherBackbone, e.Yaml(backbone: "resnet34"));
        result = Test(e, otherBackbone);
        Assert.Equal(1, result.Code);
        Assert.Contains("holds a resnet18", result.Err);
        Assert.False(Directory.Exists(Path.Combine(e.Root, "reports")), "a refused test leaves no report folder behind");
    }

    [Fact]
    public void A_test_image_changed_since_training_is_named_and_nothing_is_reported()
    {
        var e = new FolderExperiment();
        var changed = e.Manifest.Of(Split.Test).First().Path;
        File.AppendAllText(Path.Combine(e.DataDir, changed), "x");
        var removed = e.Manifest.Of(Split.Train).First().Path;
        File.Delete(Path.Combine(e.DataDir, removed));

        var result = Test(e, e.ConfigPath);
        Assert.Equal(1, result.Code);
        Assert.Single(result.Err.Trim().Split('\n'));
        Assert.Contains($"{changed} (content changed)", result.Err);
        Assert.Contains($"{removed} (missing)", result.Err);
        Assert.False(File.Exists(Path.Combine(e.Root, "reports", "folder_run", TestReport.SummaryJsonFile)));
        Assert.Null(ResultsFile.Read(Path.Combine(e.ExperimentDir, ResultsFile.FileName)).TestAccuracy);
    }

    [Fact]
    public void A_split_json_other_than_the_one_trained_on_is_refused()
    {
        var e = new FolderExperiment();
        // Another seed moves images between splits: the test split would overlap the training images.
        var other = SplitManifest.Create(DatasetScan.Run(e.DataDir), e.Manifest.Ratios, e.Manifest.Seed + 1);
        other.Save(e.ExperimentDir);

        var result = Test(e, e.ConfigPath);
        Assert.Equal(1, result.Code);
        Assert.Contains("is not the split checkpoint", result.Err);
        Assert.Contains(SplitManifest.FileName, result.Err);

        File.Delete(Path.Combine(e.ExperimentDir, SplitManifest.FileName));
        result = Test(e, e.ConfigPath);
        Assert.Equal(1, result.Code);
        Assert.Contains($"No {SplitManifest.FileName} beside checkpoint", result.Err);
    }

    [Fact]
    public void A_synthetic_run_trained_by_the_train_command_is_tested_on_held_out_images()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "synth.yaml"), SyntheticYaml(dir, "synth_run", seed: 5));
        FinetuneProgram.Run(dir, "train", "--config", "synth.yaml").Succeeded();
        var checkpoint = Path.Combine(dir, "ckpt", "synth_run", "checkpoint_best.ckpt");

        var result = FinetuneProgram.Run(dir, "test", "--config", "synth.yaml", "--model_path", checkpoint, "--output_dir", "reports").Succeeded();
        Assert.Contains("Test accuracy:", result.Out);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "reports", "synth_run", TestReport.SummaryJsonFile)));
        Assert.Equal(3 * 3, summary.RootElement.GetProperty("sample_count").GetInt32()); // half of 6 per class, 3 classes
        Assert.NotNull(ResultsFile.Read(Path.Combine(dir, "ckpt", "synth_run", ResultsFile.FileName)).TestAccuracy);
        // No files to draw heatmaps over: the page says so instead of showing an empty section.
        Assert.Contains("No heatmaps: synthetic images are drawn in memory", File.ReadAllText(Path.Combine(dir, "reports", "synth_run", FineTune.Reports.HtmlReport.FileName)));

        // The same checkpoint with a config that describes other synthetic data: refused, not tested on the wrong images.
        File.WriteAllText(Path.Combine(dir, "other.yaml"), SyntheticYaml(dir, "synth_run", seed: 6));
        result = FinetuneProgram.Run(dir, "test", "--config", "other.yaml", "--model_path", checkpoint, "--output_dir", "reports");
        Assert.Equal(1, result.Code);
        Assert.Contains("data.seed", result.Err);
    }

    [Fact]
    public void The_held_out_synthetic_test_images_differ_from_training_and_validation()
    {
        var data = SyntheticImages.Create(3, 6, 16, 4, 5, FineTune.Weights.Preprocessing.ImageNet);
        using var test = SyntheticImages.Test(3, 6, 16, 4, 5, FineTune.Weights.Preprocessing.ImageNet);
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var first = test.Epoch(1).First();
        foreach (var other in new[] { data.Train, data.Val })
            foreach (var batch in other.Epoch(1))
                using (batch)
                    for (int i = 0; i < batch.Count; i++)
                        for (int j = 0; j < first.Count; j++)
                            Assert.True((batch.Images[i] - first.Images[j]).abs().max().item<float>() > 0.01f, "a test image is also a training or validation image");
        Assert.Equal(data.SplitManifestHash, SyntheticImages.Hash(3, 6, 16, 5));
        ((IDisposable)data.Train).Dispose();
        ((IDisposable)data.Val).Dispose();
    }

    internal static string SyntheticYaml(string dir, string name, int seed, bool pretrained = false) =>
        $"data:\n  source: synthetic\n  synthetic_images_per_class: 6\n  image_size: 32\n  batch_size: 6\n  seed: {seed}\n" +
        $"model:\n  backbone: resnet18\n  pretrained: {(pretrained ? "true" : "false")}\n  num_classes: 3\n" +
        $"training:\n  num_epochs: 1\n  threads: 1\n" +
        $"experiment:\n  name: {name}\n  checkpoint_dir: {dir}/ckpt\n  log_dir: {dir}/logs\n  export_pytorch: false\n";
}
