using System.Globalization;
using FineTune.Evaluation;
using FineTune.IO;
using SkiaSharp;

namespace FineTune.Charts;

/// <summary>
/// The confusion matrix as a heatmap: rows are true classes, columns predicted ones, class names on both
/// axes. A cell's colour is its share of the row (the recall of the diagonal), on a square-root scale so a
/// single mistake in a class of hundreds still shows; counts are written in cells when they are big
/// enough to hold them. Sized so 101 classes stay legible (about 10 px cells).
/// </summary>
public static class ConfusionMatrixChart
{
    // matplotlib's "Blues", light to dark.
    static readonly SKColor[] Blues =
    [
        new(247, 251, 255), new(222, 235, 247), new(198, 219, 239), new(158, 202, 225), new(107, 174, 214),
        new(66, 146, 198), new(33, 113, 181), new(8, 81, 156), new(8, 48, 107),
    ];

    public static byte[] Render(ConfusionMatrix matrix, string title = "Confusion matrix")
    {
        var n = matrix.ClassCount;
        var cell = Math.Clamp(1100f / n, 10f, 40f);
        using var nameFont = Canvas.Font(Math.Min(12f, cell * 0.85f));
        using var titleFont = Canvas.Font(16, bold: true);
        using var axisFont = Canvas.Font(13);
        using var tickFont = Canvas.Font(11);
        var countFontSize = Math.Min(12f, cell * 0.42f);
        using var countFont = Canvas.Font(countFontSize);
        var showCounts = cell >= 22;

        var longestName = matrix.ClassNames.Count == 0 ? 0 : matrix.ClassNames.Max(name => Canvas.Width(nameFont, name));
        var left = 40 + longestName + 8;
        var top = 58f;
        var gridSize = cell * n;
        var colourBarLeft = left + gridSize + 24;
        var subtitle = $"{n} classes; rows: true class, colour: share of the row (square-root scale){(showCounts ? ", numbers: counts" : "")}";
        using var subtitleFont = Canvas.Font(12);
        var width = (int)Math.Ceiling(Math.Max(colourBarLeft + 18 + 60, 20 + Math.Max(Canvas.Width(titleFont, title), Canvas.Width(subtitleFont, subtitle))));
        var height = (int)Math.Ceiling(top + gridSize + 8 + longestName + 40);

        return Canvas.ToPng(width, height, canvas =>
        {
            Canvas.Text(canvas, title, width / 2f, 22, titleFont, Palette.Text, SKTextAlign.Center);
            Canvas.Text(canvas, subtitle, width / 2f, 42, subtitleFont, Palette.Axis, SKTextAlign.Center);

            for (var t = 0; t < n; t++)
            {
                var rowTotal = matrix.RowTotal(t);
                for (var p = 0; p < n; p++)
                {
                    var count = matrix.Counts[t, p];
                    var share = rowTotal == 0 ? 0 : count / (double)rowTotal;
                    var rect = SKRect.Create(left + p * cell, top + t * cell, cell, cell);
                    using var fill = Canvas.Fill(count == 0 ? SKColors.White : Colour(Math.Sqrt(share)));
                    canvas.DrawRect(rect, fill);
                    if (showCounts && count > 0)
                        Canvas.Text(canvas, count.ToString(CultureInfo.InvariantCulture), rect.MidX, rect.MidY + countFontSize * 0.35f, countFont,
                            Math.Sqrt(share) > 0.6 ? SKColors.White : Palette.Text, SKTextAlign.Center);
                }
            }
            DrawGridLines(canvas, n, cell, left, top);

            for (var i = 0; i < n; i++)
            {
                var name = matrix.ClassNames[i];
                Canvas.Text(canvas, name, left - 5, top + (i + 0.5f) * cell + nameFont.Size * 0.35f, nameFont, Palette.Text, SKTextAlign.Right);
                // Column names read upwards, right-aligned against the bottom of the grid.
                Canvas.VerticalText(canvas, name, left + (i + 0.5f) * cell + nameFont.Size * 0.35f, top + gridSize + 5, nameFont, Palette.Text, SKTextAlign.Right);
            }
            Canvas.Text(canvas, "Predicted class", left + gridSize / 2, height - 12, axisFont, Palette.Text, SKTextAlign.Center);
            Canvas.VerticalText(canvas, "True class", 18, top + gridSize / 2, axisFont, Palette.Text);

            DrawColourBar(canvas, new SKRect(colourBarLeft, top, colourBarLeft + 18, top + Math.Max(gridSize, 120)), tickFont);
        });
    }

    public static void Save(string path, ConfusionMatrix matrix, string title = "Confusion matrix") =>
        AtomicWrite.Bytes(path, Render(matrix, title));

    static void DrawGridLines(SKCanvas canvas, int n, float cell, float left, float top)
    {
        // Every cell edge when cells are large; otherwise a guide every 10 classes, to follow a row by eye.
        var every = cell >= 16 ? 1 : 10;
        using var line = Canvas.Stroke(new SKColor(0xd0, 0xd0, 0xd0), cell >= 16 ? 0.6f : 0.8f);
        for (var i = every; i < n; i += every)
        {
            canvas.DrawLine(left + i * cell, top, left + i * cell, top + n * cell, line);
            canvas.DrawLine(left, top + i * cell, left + n * cell, top + i * cell, line);
        }
        using var frame = Canvas.Stroke(Palette.Axis, 1);
        canvas.DrawRect(SKRect.Create(left, top, n * cell, n * cell), frame);
    }

    static void DrawColourBar(SKCanvas canvas, SKRect bar, SKFont font)
    {
        const int steps = 200;
        for (var i = 0; i < steps; i++)
        {
            var position = i / (double)(steps - 1);
            using var fill = Canvas.Fill(Colour(position));
            var y0 = bar.Bottom - bar.Height * (i + 1) / steps;
            canvas.DrawRect(new SKRect(bar.Left, y0, bar.Right, y0 + bar.Height / steps + 0.5f), fill);
        }
        using var frame = Canvas.Stroke(Palette.Axis, 1);
        canvas.DrawRect(bar, frame);
        foreach (var share in new[] { 0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0 })
        {
            var y = bar.Bottom - (float)Math.Sqrt(share) * bar.Height;
            canvas.DrawLine(bar.Right, y, bar.Right + 4, y, frame);
            Canvas.Text(canvas, share.ToString("0.##", CultureInfo.InvariantCulture), bar.Right + 7, y + 4, font, Palette.Text);
        }
    }

    /// <summary>Blues at <paramref name="position"/> in 0..1.</summary>
    static SKColor Colour(double position)
    {
        var scaled = Math.Clamp(position, 0, 1) * (Blues.Length - 1);
        var i = Math.Min((int)scaled, Blues.Length - 2);
        var f = scaled - i;
        byte Mix(byte a, byte b) => (byte)Math.Round(a + (b - a) * f);
        return new SKColor(Mix(Blues[i].Red, Blues[i + 1].Red), Mix(Blues[i].Green, Blues[i + 1].Green), Mix(Blues[i].Blue, Blues[i + 1].Blue));
    }
}
