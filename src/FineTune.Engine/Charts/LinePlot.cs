using SkiaSharp;

namespace FineTune.Charts;

/// <summary>A line series: its legend label, points, colour and whether the line is dashed.</summary>
public sealed record PlotSeries(string Label, IReadOnlyList<(double X, double Y)> Points, SKColor Color, bool Dashed = false);

/// <summary>A point to highlight (the best epoch): a dot on the data and a dashed vertical line through it.</summary>
public sealed record PlotMarker(double X, double Y, string Label, SKColor Color, bool VerticalLine = true);

/// <summary>
/// One panel of a line chart, like a matplotlib axes: frame, grid, ticks with labels, axis titles, series,
/// markers and a legend in the corner where the data leaves room.
/// </summary>
public sealed class LinePlot
{
    public required string Title { get; init; }
    public required string XLabel { get; init; }
    public required string YLabel { get; init; }
    public required IReadOnlyList<PlotSeries> Series { get; init; }
    public IReadOnlyList<PlotMarker> Markers { get; init; } = [];
    public bool IntegerX { get; init; } = true;
    /// <summary>Bounds the y axis never needs to cross when the data stays within them (0 for a loss, 100 for an accuracy in %).</summary>
    public double? YFloor { get; init; }
    public double? YCeiling { get; init; }
    /// <summary>Where the legend goes: true for the lower right (rising curves), false for the upper right (falling ones).</summary>
    public bool LegendBottom { get; init; }

    public void Draw(SKCanvas canvas, SKRect area)
    {
        using var titleFont = Canvas.Font(16, bold: true);
        using var labelFont = Canvas.Font(13);
        using var tickFont = Canvas.Font(11);

        var points = Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var (xLow, xHigh) = points.Count == 0 ? NiceTicks.Limits(0, 1) : NiceTicks.Limits(points.Min(p => p.X), points.Max(p => p.X));
        var (yLow, yHigh) = points.Count == 0
            ? NiceTicks.Limits(0, 1, YFloor, YCeiling)
            : NiceTicks.Limits(points.Min(p => p.Y), points.Max(p => p.Y), YFloor, YCeiling);
        var xTicks = NiceTicks.Within(xLow, xHigh, 10, IntegerX);
        var yTicks = NiceTicks.Within(yLow, yHigh, 6);
        var yTickWidth = yTicks.Count == 0 ? 0 : yTicks.Max(t => Canvas.Width(tickFont, NiceTicks.Label(t, yTicks)));

        var plot = new SKRect(area.Left + 30 + yTickWidth + 10, area.Top + 34, area.Right - 12, area.Bottom - 52);
        float Px(double x) => plot.Left + (float)((x - xLow) / (xHigh - xLow)) * plot.Width;
        float Py(double y) => plot.Bottom - (float)((y - yLow) / (yHigh - yLow)) * plot.Height;

        Canvas.Text(canvas, Title, plot.MidX, area.Top + 22, titleFont, Palette.Text, SKTextAlign.Center);

        using (var grid = Canvas.Stroke(Palette.Grid, 1))
        using (var tick = Canvas.Stroke(Palette.Axis, 1))
        {
            foreach (var x in xTicks)
            {
                canvas.DrawLine(Px(x), plot.Top, Px(x), plot.Bottom, grid);
                canvas.DrawLine(Px(x), plot.Bottom, Px(x), plot.Bottom + 5, tick);
                Canvas.Text(canvas, NiceTicks.Label(x, xTicks), Px(x), plot.Bottom + 19, tickFont, Palette.Text, SKTextAlign.Center);
            }
            foreach (var y in yTicks)
            {
                canvas.DrawLine(plot.Left, Py(y), plot.Right, Py(y), grid);
                canvas.DrawLine(plot.Left - 5, Py(y), plot.Left, Py(y), tick);
                Canvas.Text(canvas, NiceTicks.Label(y, yTicks), plot.Left - 8, Py(y) + 4, tickFont, Palette.Text, SKTextAlign.Right);
            }
        }
        using (var frame = Canvas.Stroke(Palette.Axis, 1.2f)) canvas.DrawRect(plot, frame);
        Canvas.Text(canvas, XLabel, plot.MidX, area.Bottom - 14, labelFont, Palette.Text, SKTextAlign.Center);
        Canvas.VerticalText(canvas, YLabel, area.Left + 16, plot.MidY, labelFont, Palette.Text);

        canvas.Save();
        canvas.ClipRect(SKRect.Inflate(plot, 4, 4));
        foreach (var marker in Markers.Where(m => m.VerticalLine))
        {
            using var line = Canvas.Stroke(marker.Color, 1.2f, dashed: true);
            canvas.DrawLine(Px(marker.X), plot.Top, Px(marker.X), plot.Bottom, line);
        }
        foreach (var series in Series) DrawSeries(canvas, series, Px, Py);
        foreach (var marker in Markers.Where(m => double.IsFinite(m.Y)))
        {
            using var ring = Canvas.Stroke(marker.Color, 2);
            canvas.DrawCircle(Px(marker.X), Py(marker.Y), 6, ring);
        }
        canvas.Restore();

        DrawLegend(canvas, plot, labelFont);
    }

    static void DrawSeries(SKCanvas canvas, PlotSeries series, Func<double, float> px, Func<double, float> py)
    {
        var finite = series.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).OrderBy(p => p.X).ToList();
        using var line = Canvas.Stroke(series.Color, 2, series.Dashed);
        using var dot = Canvas.Fill(series.Color);
        using var path = new SKPath();
        for (var i = 0; i < finite.Count; i++)
        {
            var (x, y) = (px(finite[i].X), py(finite[i].Y));
            if (i == 0) path.MoveTo(x, y); else path.LineTo(x, y);
        }
        canvas.DrawPath(path, line);
        // Dots only while they stay apart; a long run reads better as a plain line.
        if (finite.Count <= 60) foreach (var p in finite) canvas.DrawCircle(px(p.X), py(p.Y), 2.8f, dot);
    }

    void DrawLegend(SKCanvas canvas, SKRect plot, SKFont font)
    {
        var entries = Series.Select(s => (s.Label, s.Color, s.Dashed, IsMarker: false))
            .Concat(Markers.Select(m => (m.Label, m.Color, Dashed: true, IsMarker: true)))
            .Where(e => e.Label.Length > 0).ToList();
        if (entries.Count == 0 || !ChartFont.TextAvailable) return;

        const float rowHeight = 19, swatch = 24, padding = 8;
        var width = entries.Max(e => Canvas.Width(font, e.Label)) + swatch + 3 * padding;
        var height = entries.Count * rowHeight + padding;
        var left = plot.Right - width - 8;
        var top = LegendBottom ? plot.Bottom - height - 8 : plot.Top + 8;
        var box = new SKRect(left, top, left + width, top + height);
        using (var background = Canvas.Fill(new SKColor(255, 255, 255, 225))) canvas.DrawRoundRect(box, 4, 4, background);
        using (var border = Canvas.Stroke(new SKColor(0xcc, 0xcc, 0xcc), 1)) canvas.DrawRoundRect(box, 4, 4, border);

        for (var i = 0; i < entries.Count; i++)
        {
            var (label, color, dashed, isMarker) = entries[i];
            var y = top + padding / 2 + rowHeight * i + rowHeight / 2;
            using var line = Canvas.Stroke(color, isMarker ? 1.2f : 2, dashed);
            canvas.DrawLine(left + padding, y, left + padding + swatch, y, line);
            if (isMarker)
            {
                using var ring = Canvas.Stroke(color, 2);
                canvas.DrawCircle(left + padding + swatch / 2, y, 5, ring);
            }
            Canvas.Text(canvas, label, left + 2 * padding + swatch, y + 4.5f, font, Palette.Text);
        }
    }
}
