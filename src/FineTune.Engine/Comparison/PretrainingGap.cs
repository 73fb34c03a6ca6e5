using System.Globalization;

namespace FineTune.Comparison;

/// <summary>
/// What pretraining gave one backbone: fine-tuned runs' accuracy minus from-scratch runs', in percentage points (the
/// seed's question). Test accuracy when every run of both kinds was tested, else validation accuracy for all of them, so
/// the two sides are always measured alike; several runs of one kind (split seeds) count by their mean.
/// </summary>
public sealed record PretrainingGap(string Backbone, string Metric, double FinetunePercent, double ScratchPercent, int FinetuneRuns, int ScratchRuns)
{
    public double Points => FinetunePercent - ScratchPercent;

    /// <summary>One per backbone that has runs of both kinds, in the table's order.</summary>
    public static IReadOnlyList<PretrainingGap> For(IReadOnlyList<RunResult> runs) => ResultsCollector.Order(runs)
        .GroupBy(r => r.Backbone.ToLowerInvariant())
        .Select(g => Of(g.Key, g.Where(r => r.Mode == TrainingMode.Finetune).ToList(), g.Where(r => r.Mode == TrainingMode.Scratch).ToList()))
        .OfType<PretrainingGap>()
        .ToList();

    static PretrainingGap? Of(string backbone, IReadOnlyList<RunResult> finetune, IReadOnlyList<RunResult> scratch)
    {
        if (finetune.Count == 0 || scratch.Count == 0) return null;
        bool tested = finetune.Concat(scratch).All(r => r.TestAccuracy is not null);
        double Mean(IReadOnlyList<RunResult> side) => 100 * side.Average(r => tested ? r.TestAccuracy!.Value : r.ValAccuracy);
        return new PretrainingGap(backbone, tested ? "test" : "validation", Mean(finetune), Mean(scratch), finetune.Count, scratch.Count);
    }

    /// <summary>"ResNet-18: pretraining helped by 25.32 points of test accuracy (fine-tuned 94.01% vs from scratch 68.69%)."</summary>
    public override string ToString()
    {
        string P(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
        string Side(double percent, int count) => $"{P(percent)}%" + (count > 1 ? $", mean of {count} runs" : "");
        var verb = Points >= 0 ? "helped by" : "hurt by";
        return $"{BackboneNames.Display(Backbone)}: pretraining {verb} {P(Math.Abs(Points))} points of {Metric} accuracy " +
               $"(fine-tuned {Side(FinetunePercent, FinetuneRuns)} vs from scratch {Side(ScratchPercent, ScratchRuns)}).";
    }
}
