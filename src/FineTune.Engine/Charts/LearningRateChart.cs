using FineTune.Evaluation;

namespace FineTune.Charts;

/// <summary>The learning rate per epoch of the backbone and of the classifier (they differ by the fc multiplier), for the HTML report.</summary>
public static class LearningRateChart
{
    public const int Width = 700, Height = 420;
    static readonly string[] GroupNames = ["backbone", "classifier"];

    /// <summary>The chart, or null when no epoch recorded its learning rates (histories written before they were kept).</summary>
    public static byte[]? Render(IReadOnlyList<EpochRecord> history)
    {
        var recorded = history.Where(r => r.LearningRates is { Length: > 0 }).ToList();
        if (recorded.Count == 0) return null;
        var groups = recorded.Max(r => r.LearningRates!.Length);
        // Plotted in units of a power of ten (1e-4 and so on): the axis then has readable ticks, and a constant rate
        // gets a band around it instead of an axis of 0..0.5 on which it lies flat on zero.
        var largest = recorded.SelectMany(r => r.LearningRates!).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        var exponent = largest > 0 ? (int)Math.Floor(Math.Log10(largest)) : 0;
        var unit = Math.Pow(10, exponent);
        var series = Enumerable.Range(0, groups).Select(g => new PlotSeries(
            g < GroupNames.Length ? GroupNames[g] : $"group {g}",
            recorded.Where(r => r.LearningRates!.Length > g).Select(r => ((double)r.Epoch, r.LearningRates![g] / unit)).ToList(),
            Palette.Color(g + 2), Dashed: g > 0)).ToList();
        return Canvas.ToPng(Width, Height, canvas => new LinePlot
        {
            Title = "Learning rate",
            XLabel = "Epoch",
            YLabel = exponent == 0 ? "Learning rate" : $"Learning rate (x 1e{exponent})",
            YFloor = 0,
            Series = series,
        }.Draw(canvas, new SkiaSharp.SKRect(0, 0, Width, Height)));
    }
}
