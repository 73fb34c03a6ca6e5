using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTune.Comparison;

/// <summary>One row of the comparison table; measured values are null for a seed configuration not run here. Percentages.</summary>
public sealed record ResultsRow(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("backbone")] string Backbone,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("experiment")] string? Experiment,
    [property: JsonPropertyName("measured")] bool Measured,
    [property: JsonPropertyName("best_epoch")] int? BestEpoch,
    [property: JsonPropertyName("train_accuracy_percent")] double? TrainPercent,
    [property: JsonPropertyName("val_accuracy_percent")] double? ValPercent,
    [property: JsonPropertyName("test_accuracy_percent")] double? TestPercent,
    [property: JsonPropertyName("wall_seconds")] double? WallSeconds,
    [property: JsonPropertyName("seed")] SeedResult? Seed);

/// <summary>
/// The seed's results table (model, best epoch, train/validation/test accuracy in %), filled from the runs
/// made here, with the seed's own test accuracy beside each row for reference. Every configuration of the
/// seed's table has a row; those not run here say "not measured here".
/// </summary>
public sealed class ResultsTable
{
    public const string NotMeasured = "not measured here";
    public const string NotTested = "not tested";

    public IReadOnlyList<ResultsRow> Rows { get; }

    /// <summary>Configurations run on several split seeds (<c>name</c>, <c>name_seed43</c>, ...), with mean and spread.</summary>
    public IReadOnlyList<SeedGroup> SeedGroups { get; }

    public ResultsTable(IReadOnlyList<RunResult> runs, bool includeSeedConfigurations = true)
    {
        var rows = new List<ResultsRow>();
        var ordered = ResultsCollector.Order(runs);
        // Two runs of one configuration (say, a rerun) each get a row, told apart by experiment name.
        var duplicated = ordered.GroupBy(r => (r.Backbone.ToLowerInvariant(), r.Mode)).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        foreach (var run in ordered)
        {
            var model = BackboneNames.Model(run.Backbone, run.Mode);
            if (duplicated.Contains((run.Backbone.ToLowerInvariant(), run.Mode))) model += $" [{run.Experiment}]";
            rows.Add(new ResultsRow(model, run.Backbone, ModeName(run.Mode), run.Experiment, true, run.BestEpoch,
                Percent(run.TrainAccuracy), Percent(run.ValAccuracy), run.TestAccuracy is { } test ? Percent(test) : null,
                run.WallSeconds, SeedResults.Find(run.Backbone, run.Mode)));
        }
        if (includeSeedConfigurations)
        {
            foreach (var seed in SeedResults.All)
                if (!runs.Any(r => string.Equals(r.Backbone, seed.Backbone, StringComparison.OrdinalIgnoreCase) && r.Mode == seed.Mode))
                    rows.Add(new ResultsRow(BackboneNames.Model(seed.Backbone, seed.Mode), seed.Backbone, ModeName(seed.Mode), null, false,
                        null, null, null, null, null, seed));
        }
        SeedGroups = SeedSpread.Groups(ordered);
        Rows = rows
            .OrderBy(r => BackboneNames.Depth(r.Backbone)).ThenBy(r => r.Backbone, StringComparer.Ordinal)
            .ThenBy(r => r.Mode == ModeName(TrainingMode.Finetune) ? 0 : 1)
            .ToList();
    }

    public static string ModeName(TrainingMode mode) => mode == TrainingMode.Finetune ? "finetune" : "scratch";

    /// <summary>A fraction as the table's percent, two decimals (the seed's layout); the seed groups use it too.</summary>
    internal static double Percent(double fraction) => Math.Round(100 * fraction, 2);

    /// <summary>The Markdown table in the seed's layout, plus a column with the seed's test accuracy.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("| Model | Best epoch | Train accuracy (%) | Val accuracy (%) | Test accuracy (%) | Seed test accuracy (%) |\n");
        md.Append("|---|:---:|:---:|:---:|:---:|:---:|\n");
        foreach (var row in Rows)
        {
            var seed = row.Seed is { } s ? F(s.TestPercent) : "-";
            if (!row.Measured)
            {
                md.Append($"| {Escape(row.Model)} | {NotMeasured} | {NotMeasured} | {NotMeasured} | {NotMeasured} | {seed} |\n");
                continue;
            }
            md.Append($"| {Escape(row.Model)} | {row.BestEpoch} | {F(row.TrainPercent!.Value)} | {F(row.ValPercent!.Value)} | ")
              .Append(row.TestPercent is { } test ? F(test) : NotTested).Append($" | {seed} |\n");
        }
        md.Append(SeedSpread.ToMarkdown(SeedGroups));
        return md.ToString();
    }

    /// <summary>The seed's own table, for reference (its numbers, its layout).</summary>
    public static string SeedMarkdown()
    {
        var md = new StringBuilder();
        md.Append("| Model | Best epoch | Train accuracy (%) | Val accuracy (%) | Test accuracy (%) |\n");
        md.Append("|---|:---:|:---:|:---:|:---:|\n");
        foreach (var s in SeedResults.All)
            md.Append($"| {BackboneNames.Model(s.Backbone, s.Mode)} | {s.BestEpoch} | {F(s.TrainPercent)} | {F(s.ValPercent)} | {F(s.TestPercent)} |\n");
        return md.ToString();
    }

    /// <summary>
    /// JSON: <c>{ "rows": [ ... ] }</c> with percentages, nulls where not measured, and the seed's numbers per row;
    /// plus <c>"seed_groups"</c> where a configuration ran on several split seeds.
    /// </summary>
    public string ToJson() => JsonSerializer.Serialize(SeedGroups.Count == 0 ? new { rows = Rows } : (object)new { rows = Rows, seed_groups = SeedGroups }, new JsonSerializerOptions
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    }) + "\n";

    static string F(double percent) => percent.ToString("F2", CultureInfo.InvariantCulture);

    static string Escape(string cell) => cell.Replace("|", "\\|");
}
