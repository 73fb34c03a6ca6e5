using SkiaSharp;

namespace FineTune.Charts;

/// <summary>Text and PNG helpers shared by the charts; text is skipped when no font is available (see <see cref="ChartFont"/>).</summary>
static class Canvas
{
    public static SKFont Font(float size, bool bold = false)
    {
        var typeface = ChartFont.Typeface;
        var font = typeface is null ? new SKFont() : new SKFont(typeface, size);
        font.Size = size;
        font.Subpixel = true;
        font.Edging = SKFontEdging.Antialias;
        if (bold) font.Embolden = true;
        return font;
    }

    public static SKPaint Fill(SKColor color) => new() { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };

    public static SKPaint Stroke(SKColor color, float width, bool dashed = false) => new()
    {
        Color = color,
        IsAntialias = true,
        Style = SKPaintStyle.Stroke,
        StrokeWidth = width,
        PathEffect = dashed ? SKPathEffect.CreateDash([6f, 4f], 0) : null,
    };

    public static void Text(SKCanvas canvas, string text, float x, float y, SKFont font, SKColor color, SKTextAlign align = SKTextAlign.Left)
    {
        if (!ChartFont.TextAvailable || text.Length == 0) return;
        using var paint = Fill(color);
        canvas.DrawText(text, x, y, align, font, paint);
    }

    /// <summary>Text turned 90 degrees counter-clockwise, reading upwards, centred on (x, y) along its length.</summary>
    public static void VerticalText(SKCanvas canvas, string text, float x, float y, SKFont font, SKColor color, SKTextAlign align = SKTextAlign.Center)
    {
        canvas.Save();
        canvas.Translate(x, y);
        canvas.RotateDegrees(-90);
        Text(canvas, text, 0, 0, font, color, align);
        canvas.Restore();
    }

    public static float Width(SKFont font, string text) => ChartFont.TextAvailable ? font.MeasureText(text) : text.Length * font.Size * 0.55f;

    public static byte[] ToPng(int width, int height, Action<SKCanvas> draw)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"could not create a {width}x{height} drawing surface");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        draw(canvas);
        canvas.Flush();
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
