using System.Globalization;
using FineTune.Evaluation;
using FineTune.IO;

namespace FineTune.Charts;

/// <summary>One run's validation accuracy per epoch, labelled for the legend.</summary>
public sealed record NamedHistory(string Name, IReadOnlyList<EpochRecord> History);

/// <summary>
/// Validation accuracy per epoch of several runs in one panel (for <c>finetune compare</c>), each run's
/// best epoch circled and given in the legend.
/// </summary>
public static class ValidationCurvesChart
{
    public const int Width = 1100, Height = 640;

    public static byte[] Render(IReadOnlyList<NamedHistory> runs, string title = "Validation accuracy") => Canvas.ToPng(Width, Height, canvas =>
    {
        var series = new List<PlotSeries>();
        var markers = new List<PlotMarker>();
        for (var i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var color = Palette.Color(i);
            var best = EpochRecord.Best(run.History);
            var label = best is null
                ? run.Name
                : $"{run.Name} (best {(100 * best.ValAccuracy).ToString("F2", CultureInfo.InvariantCulture)}% @ {best.Epoch})";
            series.Add(new PlotSeries(label, run.History.Select(r => ((double)r.Epoch, 100 * r.ValAccuracy)).ToList(), color));
            if (best is not null) markers.Add(new PlotMarker(best.Epoch, 100 * best.ValAccuracy, "", color, VerticalLine: false));
        }
        new LinePlot
        {
            Title = title,
            XLabel = "Epoch",
            YLabel = "Validation accuracy (%)",
            YFloor = 0,
            YCeiling = 100,
            Series = series,
            Markers = markers,
            LegendBottom = true,
        }.Draw(canvas, new SkiaSharp.SKRect(0, 0, Width, Height));
    });

    public static void Save(string path, IReadOnlyList<NamedHistory> runs, string title = "Validation accuracy") =>
        AtomicWrite.Bytes(path, Render(runs, title));
}
