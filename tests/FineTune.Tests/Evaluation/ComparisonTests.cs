using System.Text.Json.Nodes;
using FineTune.Comparison;
using FineTune.Evaluation;
using Xunit;

namespace FineTune.Tests.Evaluation;

public class ComparisonTests
{
    static readonly List<EpochRecord> History =
    [
        new(1, 2.0, 0.40, 1.5, 0.55),
        new(2, 1.0, 0.80, 0.9, 0.8125),
        new(3, double.NaN, 0.85, 1.0, 0.80),
    ];

    static RunResult Finetune(double? test = 0.8219) => RunResult.FromHistory("resnet18_finetune", "resnet18", TrainingMode.Finetune, History, 125.5, test);

    [Fact]
    public void A_result_takes_its_best_epoch_from_the_history()
    {
        var r = Finetune();
        Assert.Equal(2, r.BestEpoch);
        Assert.Equal(0.80, r.TrainAccuracy);
        Assert.Equal(0.8125, r.ValAccuracy);
    }

    [Fact]
    public void Results_json_round_trips_including_a_nan_loss_and_a_missing_test()
    {
        using var folder = new TempFolder();
        foreach (var original in new[] { Finetune(), Finetune(test: null) })
        {
            var path = ResultsFile.Write(folder.Path, original);
            var read = ResultsFile.Read(path);
            Assert.Equal(original with { History = [] }, read with { History = [] });
            Assert.Equal(original.History, read.History);
        }
        var json = JsonNode.Parse(ResultsFile.ToJson(Finetune()))!;
        Assert.Equal("finetune-results/1", json["format"]!.GetValue<string>());
        Assert.Equal("finetune", json["mode"]!.GetValue<string>());
        Assert.Equal(0.8125, json["history"]![1]!["val_accuracy"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("{\"format\":\"finetune-results/1\"}", "missing key(s) experiment, backbone")]
    [InlineData("{\"format\":\"finetune-results/9\",\"experiment\":\"e\",\"backbone\":\"resnet18\",\"mode\":\"finetune\",\"best_epoch\":1,\"train_accuracy\":1,\"val_accuracy\":1,\"wall_seconds\":1,\"history\":[]}", "finetune-results/9")]
    [InlineData("{\"format\":\"finetune-results/1\",\"experiment\":\"e\",\"backbone\":\"resnet18\",\"mode\":\"pretrained\",\"best_epoch\":1,\"train_accuracy\":1,\"val_accuracy\":1,\"wall_seconds\":1,\"history\":[]}", "'mode'")]
    [InlineData("{\"format\":\"finetune-results/1\",\"surprise\":1}", "unknown key 'surprise'")]
    [InlineData("not json", "not a valid results file")]
    [InlineData("{\"format\":\"finetune-results/1\",\"experiment\":\"e\",\"backbone\":\"resnet18\",\"mode\":\"scratch\",\"best_epoch\":1,\"train_accuracy\":99.5,\"val_accuracy\":1,\"wall_seconds\":1,\"history\":[]}", "'train_accuracy' is 99.5")]
    public void A_malformed_results_file_is_named_with_its_problem(string content, string expectedInMessage)
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("results.json"), content);
        var e = Assert.Throws<InvalidDataException>(() => ResultsFile.Read(folder.File("results.json")));
        Assert.Contains(folder.File("results.json"), e.Message);
        Assert.Contains(expectedInMessage, e.Message);
    }

    [Fact]
    public void The_collector_finds_results_in_experiment_folders_and_orders_them()
    {
        using var folder = new TempFolder();
        ResultsFile.Write(Path.Combine(folder.Path, "checkpoints", "r34s"), RunResult.FromHistory("r34s", "resnet34", TrainingMode.Scratch, History, 1));
        ResultsFile.Write(Path.Combine(folder.Path, "checkpoints", "r18s"), RunResult.FromHistory("r18s", "resnet18", TrainingMode.Scratch, History, 1));
        ResultsFile.Write(Path.Combine(folder.Path, "checkpoints", "r18f"), RunResult.FromHistory("r18f", "resnet18", TrainingMode.Finetune, History, 1));
        File.WriteAllText(folder.File("notes.json"), "{}");
        Assert.Equal(["r18f", "r18s", "r34s"], ResultsCollector.Collect(folder.Path).Select(r => r.Experiment));
    }

    [Fact]
    public void A_missing_outputs_folder_is_named()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => ResultsCollector.Collect("/nonexistent/outputs"));
        Assert.Contains("/nonexistent/outputs", e.Message);
    }

    [Fact]
    public void The_markdown_table_has_the_seeds_columns_and_says_what_was_not_measured()
    {
        var table = new ResultsTable([Finetune()]);
        var lines = table.ToMarkdown().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("| Model | Best epoch | Train accuracy (%) | Val accuracy (%) | Test accuracy (%) | Seed test accuracy (%) |", lines[0]);
        Assert.Equal("| ResNet-18 (pretrained, fine-tuned) | 2 | 80.00 | 81.25 | 82.19 | 94.01 |", lines[2]);
        Assert.Equal("| ResNet-18 (random init, from scratch) | not measured here | not measured here | not measured here | not measured here | 69.63 |", lines[3]);
        Assert.Equal(2 + 8, lines.Length); // header, rule, the seed's eight configurations
        Assert.Contains("| ResNet-101 (random init, from scratch) |", lines[^1]);
    }

    [Fact]
    public void An_untested_run_and_a_configuration_outside_the_seed_are_shown_as_such()
    {
        var other = RunResult.FromHistory("tiny", "resnet10", TrainingMode.Scratch, History, 1);
        var md = new ResultsTable([Finetune(test: null), other], includeSeedConfigurations: false).ToMarkdown();
        Assert.Contains("| ResNet-18 (pretrained, fine-tuned) | 2 | 80.00 | 81.25 | not tested | 94.01 |", md);
        Assert.Contains("| ResNet-10 (random init, from scratch) | 2 | 80.00 | 81.25 | not tested | - |", md);
        Assert.DoesNotContain("ResNet-34", md);
    }

    [Fact]
    public void The_json_table_has_percentages_nulls_and_the_seeds_numbers()
    {
        var rows = JsonNode.Parse(new ResultsTable([Finetune()]).ToJson())!["rows"]!.AsArray();
        Assert.Equal(8, rows.Count);
        var measured = rows[0]!;
        Assert.True(measured["measured"]!.GetValue<bool>());
        Assert.Equal(81.25, measured["val_accuracy_percent"]!.GetValue<double>());
        Assert.Equal(94.01, measured["seed"]!["test_percent"]!.GetValue<double>());
        var notRun = rows[1]!;
        Assert.False(notRun["measured"]!.GetValue<bool>());
        Assert.Null(notRun["test_accuracy_percent"]);
        Assert.Equal(42, notRun["seed"]!["best_epoch"]!.GetValue<int>());
    }

    [Fact]
    public void The_seed_table_reproduces_the_published_numbers()
    {
        var md = ResultsTable.SeedMarkdown();
        Assert.Contains("| ResNet-18 (pretrained, fine-tuned) | 23 | 99.83 | 93.36 | 94.01 |", md);
        Assert.Contains("| ResNet-101 (random init, from scratch) | 65 | 99.93 | 62.60 | 63.87 |", md);
    }
}

public class ComparisonReportTests
{
    [Fact]
    public void Compare_writes_the_table_as_markdown_and_json_and_the_curves_png()
    {
        using var folder = new TempFolder();
        List<EpochRecord> history = [new(1, 2, 0.5, 2, 0.5), new(2, 1, 0.7, 1, 0.6)];
        var runs = new[]
        {
            RunResult.FromHistory("r18f", "resnet18", TrainingMode.Finetune, history, 10, 0.61),
            RunResult.FromHistory("r18s", "resnet18", TrainingMode.Scratch, history, 10, 0.31),
        };
        var table = ComparisonReport.Write(folder.Path, runs);
        Assert.Equal(table.ToMarkdown(), File.ReadAllText(folder.File(ComparisonReport.MarkdownFile)));
        Assert.Equal(8, JsonNode.Parse(File.ReadAllText(folder.File(ComparisonReport.JsonFile)))!["rows"]!.AsArray().Count);
        using var png = SkiaSharp.SKBitmap.Decode(folder.File(ComparisonReport.CurvesFile));
        Assert.Equal(FineTune.Charts.ValidationCurvesChart.Width, png.Width);
        Assert.Equal(3, Directory.GetFiles(folder.Path).Length); // no temporary files left behind
    }
}
