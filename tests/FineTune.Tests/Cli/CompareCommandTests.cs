using System.Text.Json;
using FineTune.Comparison;
using FineTune.Evaluation;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>`finetune compare`: the seed's table and the validation curves from finished experiments.</summary>
public class CompareCommandTests
{
    static RunResult Run(string name, TrainingMode mode, double[] val, double? test) => RunResult.FromHistory(name, "resnet18", mode,
        val.Select((v, i) => new EpochRecord(i + 1, 1.0 / (i + 1), Math.Min(1, v + 0.1), 1.2 / (i + 1), v)).ToList(), 60, test);

    [Fact]
    public void Collects_results_files_into_the_markdown_and_json_table_and_the_curves_png()
    {
        var dir = Tiny.TempFolder();
        ResultsFile.Write(Path.Combine(dir, "outputs", "checkpoints", "r18_ft"), Run("r18_ft", TrainingMode.Finetune, [0.80, 0.9336, 0.92], 0.9401));
        ResultsFile.Write(Path.Combine(dir, "outputs", "checkpoints", "r18_sc"), Run("r18_sc", TrainingMode.Scratch, [0.30, 0.50, 0.6689], null));

        var result = FinetuneProgram.Run(dir, "compare", "--outputs", "outputs", "--out", "table").Succeeded();

        var md = File.ReadAllText(Path.Combine(dir, "table", ComparisonReport.MarkdownFile));
        Assert.StartsWith(md.Split('\n')[0], result.Out);
        Assert.Contains("| ResNet-18 (pretrained, fine-tuned) | 2 | 100.00 | 93.36 | 94.01 | 94.01 |", md);
        Assert.Contains("| ResNet-18 (random init, from scratch) | 3 | 76.89 | 66.89 | not tested | 69.63 |", md);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "table", ComparisonReport.JsonFile)));
        Assert.Contains("r18_ft", json.RootElement.GetRawText());
        Assert.Contains("r18_sc", json.RootElement.GetRawText());
        var png = File.ReadAllBytes(Path.Combine(dir, "table", ComparisonReport.CurvesFile));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public void With_run_trains_and_tests_each_config_then_compares_them()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "a.yaml"), TestCommandTests.SyntheticYaml(dir, "tiny_finetune", seed: 5, pretrained: true));
        File.WriteAllText(Path.Combine(dir, "b.yaml"), TestCommandTests.SyntheticYaml(dir, "tiny_scratch", seed: 5));

        var result = FinetuneProgram.Run(dir, "compare", "--configs", "a.yaml,b.yaml", "--run", "--outputs", "outputs").Succeeded();

        foreach (var name in new[] { "tiny_finetune", "tiny_scratch" })
        {
            Assert.NotNull(ResultsFile.Read(Path.Combine(dir, "ckpt", name, ResultsFile.FileName)).TestAccuracy);
            Assert.True(File.Exists(Path.Combine(dir, "outputs", "test_reports", name, TestReport.SummaryJsonFile)));
        }
        var md = File.ReadAllText(Path.Combine(dir, "outputs", "compare", ComparisonReport.MarkdownFile));
        Assert.Contains("ResNet-18 (pretrained, fine-tuned) |", md);
        Assert.Contains("ResNet-18 (random init, from scratch) |", md);
        Assert.DoesNotContain("not tested", md);
        Assert.Contains("| Model |", result.Out);
        Assert.True(File.Exists(Path.Combine(dir, "outputs", "compare", ComparisonReport.CurvesFile)));
    }

    [Fact]
    public void Nothing_to_compare_is_one_line_saying_what_to_do()
    {
        var dir = Tiny.TempFolder();
        Directory.CreateDirectory(Path.Combine(dir, "outputs"));
        var result = FinetuneProgram.Run(dir, "compare");
        Assert.Equal(1, result.Code);
        Assert.Single(result.Err.Trim().Split('\n'));
        Assert.Contains("--run", result.Err);

        result = FinetuneProgram.Run(dir, "compare", "--run");
        Assert.Equal(2, result.Code);
        Assert.Contains("--configs", result.Err);
    }
}
