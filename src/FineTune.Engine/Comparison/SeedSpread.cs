using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using FineTune.Config;

namespace FineTune.Comparison;

/// <summary>
/// One configuration run on several split seeds, summarised: the mean of each accuracy and its spread (sample
/// standard deviation, and the lowest and highest run). Percentages. One split is one sample; a difference between
/// two recipes smaller than their spread is not a difference.
/// </summary>
public sealed record SeedGroup(
    [property: JsonPropertyName("configuration")] string Configuration,
    [property: JsonPropertyName("experiments")] IReadOnlyList<string> Experiments,
    [property: JsonPropertyName("runs")] int Runs,
    [property: JsonPropertyName("val_accuracy")] Spread Val,
    [property: JsonPropertyName("test_accuracy")] Spread? Test);

/// <summary>Mean, sample standard deviation (n-1), lowest and highest of a handful of runs' accuracies, in percent.</summary>
public sealed record Spread(
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("std")] double Std,
    [property: JsonPropertyName("min")] double Min,
    [property: JsonPropertyName("max")] double Max)
{
    public static Spread Of(IReadOnlyList<double> percents)
    {
        double mean = percents.Average();
        double variance = percents.Count > 1 ? percents.Sum(p => (p - mean) * (p - mean)) / (percents.Count - 1) : 0;
        return new Spread(Math.Round(mean, 2), Math.Round(Math.Sqrt(variance), 2), percents.Min(), percents.Max());
    }

    public string ToText() => string.Create(CultureInfo.InvariantCulture, $"{Mean:F2} ± {Std:F2} ({Min:F2}-{Max:F2})");
}

/// <summary>
/// Finds the runs of one configuration over several split seeds. By convention an experiment named
/// <c>&lt;name&gt;_seed&lt;N&gt;</c> is the configuration <c>&lt;name&gt;</c> trained with <c>data.seed: N</c>, and
/// <c>&lt;name&gt;</c> itself is that configuration on its own seed; two or more of them make a group.
/// </summary>
public static partial class SeedSpread
{
    [GeneratedRegex(@"^(?<name>.+)_seed(?<seed>\d+)$")]
    private static partial Regex SeedSuffix();

    /// <summary>The configuration an experiment belongs to: its name without a trailing <c>_seed&lt;N&gt;</c>.</summary>
    public static string ConfigurationOf(string experiment) =>
        SeedSuffix().Match(experiment) is { Success: true } m ? m.Groups["name"].Value : experiment;

    /// <summary>
    /// <paramref name="config"/> on another split seed (`--seed N` of train and test): data.seed set, and the experiment
    /// named <c>&lt;name&gt;_seed&lt;N&gt;</c> so its checkpoints, logs and reports stand beside the original's and the
    /// comparison groups them. The config's own seed changes nothing.
    /// </summary>
    public static FineTuneConfig WithSplitSeed(FineTuneConfig config, int seed) => seed == config.Data.Seed ? config : config with
    {
        Data = config.Data with { Seed = seed },
        Experiment = config.Experiment with { Name = $"{ConfigurationOf(config.Experiment.Name)}_seed{seed}" },
    };

    /// <summary>Every configuration with two or more runs, in the runs' order; a group's test spread covers its tested runs (needs two).</summary>
    public static IReadOnlyList<SeedGroup> Groups(IReadOnlyList<RunResult> runs) => runs
        .GroupBy(r => (ConfigurationOf(r.Experiment), r.Backbone.ToLowerInvariant(), r.Mode))
        .Where(g => g.Count() > 1)
        .Select(g =>
        {
            var members = g.OrderBy(r => r.Experiment, StringComparer.Ordinal).ToList();
            var tested = members.Where(r => r.TestAccuracy is not null).Select(r => ResultsTable.Percent(r.TestAccuracy!.Value)).ToList();
            return new SeedGroup(g.Key.Item1, members.Select(r => r.Experiment).ToList(), members.Count,
                Spread.Of(members.Select(r => ResultsTable.Percent(r.ValAccuracy)).ToList()), tested.Count > 1 ? Spread.Of(tested) : null);
        })
        .ToList();

    /// <summary>The groups as a Markdown table, below the seed's table in <c>finetune compare</c>'s output; empty when there are none.</summary>
    public static string ToMarkdown(IReadOnlyList<SeedGroup> groups)
    {
        if (groups.Count == 0) return "";
        var md = new StringBuilder();
        md.Append("\nRuns of one configuration on several split seeds (mean ± sample standard deviation, lowest-highest):\n\n");
        md.Append("| Configuration | Runs | Val accuracy (%) | Test accuracy (%) |\n|---|:---:|:---:|:---:|\n");
        foreach (var g in groups)
            md.Append($"| {g.Configuration} ({string.Join(", ", g.Experiments)}) | {g.Runs} | {g.Val.ToText()} | {g.Test?.ToText() ?? ResultsTable.NotTested} |\n");
        return md.ToString();
    }
}
