using System.Globalization;
using FineTune.Evaluation;
using FineTune.IO;

namespace FineTune.Charts;

/// <summary>
/// The seed's <c>&lt;name&gt;_curves.png</c>: loss (train vs validation) beside accuracy (train vs validation)
/// per epoch, with the best epoch (highest validation accuracy) marked in both panels.
/// </summary>
public static class TrainingCurvesChart
{
    public const int Width = 1400, Height = 560;

    public static string FileName(string experimentName) => $"{experimentName}_curves.png";

    public static byte[] Render(string experimentName, IReadOnlyList<EpochRecord> history) => Canvas.ToPng(Width, Height, canvas =>
    {
        var best = EpochRecord.Best(history);
        var train = Palette.Color(0);
        var validation = Palette.Color(1);
        var loss = new LinePlot
        {
            Title = $"{experimentName}: loss",
            XLabel = "Epoch",
            YLabel = "Loss",
            YFloor = 0,
            Series =
            [
                new PlotSeries("train loss", history.Select(r => ((double)r.Epoch, r.TrainLoss)).ToList(), train),
                new PlotSeries("val loss", history.Select(r => ((double)r.Epoch, r.ValLoss)).ToList(), validation),
            ],
            Markers = best is null ? [] : [new PlotMarker(best.Epoch, best.ValLoss, $"best epoch {best.Epoch}", Palette.Marker)],
        };
        var accuracy = new LinePlot
        {
            Title = $"{experimentName}: accuracy",
            XLabel = "Epoch",
            YLabel = "Accuracy (%)",
            YFloor = 0,
            YCeiling = 100,
            LegendBottom = true,
            Series =
            [
                new PlotSeries("train accuracy", history.Select(r => ((double)r.Epoch, 100 * r.TrainAccuracy)).ToList(), train),
                new PlotSeries("val accuracy", history.Select(r => ((double)r.Epoch, 100 * r.ValAccuracy)).ToList(), validation),
            ],
            Markers = best is null ? [] :
            [
                new PlotMarker(best.Epoch, 100 * best.ValAccuracy,
                    $"best epoch {best.Epoch}: val {(100 * best.ValAccuracy).ToString("F2", CultureInfo.InvariantCulture)}%", Palette.Marker),
            ],
        };
        loss.Draw(canvas, new SkiaSharp.SKRect(0, 0, Width / 2f, Height));
        accuracy.Draw(canvas, new SkiaSharp.SKRect(Width / 2f, 0, Width, Height));
    });

    /// <summary>Writes <c>&lt;folder&gt;/&lt;experiment&gt;_curves.png</c> atomically and returns its path.</summary>
    public static string Save(string folder, string experimentName, IReadOnlyList<EpochRecord> history)
    {
        var path = Path.Combine(folder, FileName(experimentName));
        AtomicWrite.Bytes(path, Render(experimentName, history));
        return path;
    }
}
