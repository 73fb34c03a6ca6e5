using System.Text.Json.Nodes;
using FineTune.Comparison;
using FineTune.Evaluation;
using Xunit;

namespace FineTune.Tests.Evaluation;

/// <summary>Runs of one configuration on several split seeds: grouped by name, summarised by mean and spread.</summary>
public class SeedSpreadTests
{
    static readonly List<EpochRecord> History = [new(1, 1.0, 0.9, 0.5, 0.93), new(2, 0.8, 0.95, 0.4, 0.935)];

    static RunResult Run(string name, double test, string backbone = "resnet18", TrainingMode mode = TrainingMode.Finetune) =>
        RunResult.FromHistory(name, backbone, mode, History, 60, test);

    [Fact]
    public void Three_seeds_of_one_configuration_give_mean_sample_deviation_and_range()
    {
        var table = new ResultsTable([Run("fast", 0.9449), Run("fast_seed43", 0.9400), Run("fast_seed44", 0.9500), Run("scratch", 0.5, mode: TrainingMode.Scratch)]);

        var group = Assert.Single(table.SeedGroups);
        Assert.Equal("fast", group.Configuration);
        Assert.Equal(["fast", "fast_seed43", "fast_seed44"], group.Experiments);
        // 94.49, 94.00, 95.00: mean 94.4967, deviations -0.0067, -0.4967, 0.5033, squares sum 0.5000 over n-1 = 2.
        Assert.Equal(new Spread(94.50, 0.50, 94.00, 95.00), group.Test);
        Assert.Equal(new Spread(93.50, 0, 93.50, 93.50), group.Val);
        Assert.Contains("| fast (fast, fast_seed43, fast_seed44) | 3 | 93.50 ± 0.00 (93.50-93.50) | 94.50 ± 0.50 (94.00-95.00) |", table.ToMarkdown());
        var json = JsonNode.Parse(table.ToJson())!["seed_groups"]!.AsArray();
        Assert.Equal(94.5, json[0]!["test_accuracy"]!["mean"]!.GetValue<double>());
        Assert.Equal(3, json[0]!["runs"]!.GetValue<int>());
    }

    [Fact]
    public void Without_repeated_configurations_the_output_is_as_before()
    {
        // A lone seed run is one sample, not a group; other backbones never join one.
        var table = new ResultsTable([Run("fast_seed43", 0.94), Run("other", 0.9, backbone: "resnet34"), Run("other_seed7", 0.9)]);
        Assert.Empty(table.SeedGroups);
        Assert.Null(JsonNode.Parse(table.ToJson())!["seed_groups"]);
        Assert.DoesNotContain("split seeds", table.ToMarkdown());
    }

    [Fact]
    public void A_group_with_fewer_than_two_tested_runs_has_no_test_spread()
    {
        var untested = RunResult.FromHistory("fast_seed44", "resnet18", TrainingMode.Finetune, History, 60);
        var group = Assert.Single(new ResultsTable([Run("fast", 0.94), untested]).SeedGroups);
        Assert.Null(group.Test);
        Assert.Contains(ResultsTable.NotTested, SeedSpread.ToMarkdown([group]));
    }

    [Theory]
    [InlineData("resnet18_fast_cpu_seed43", "resnet18_fast_cpu")]
    [InlineData("resnet18_fast_cpu", "resnet18_fast_cpu")]
    [InlineData("seed43", "seed43")]
    [InlineData("a_seedling", "a_seedling")]
    public void The_configuration_is_the_name_without_a_seed_suffix(string experiment, string configuration) =>
        Assert.Equal(configuration, SeedSpread.ConfigurationOf(experiment));
}
