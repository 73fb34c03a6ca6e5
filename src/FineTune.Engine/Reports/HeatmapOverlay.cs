using FineTune.Data;
using SkiaSharp;

namespace FineTune.Reports;

/// <summary>
/// A Grad-CAM heatmap drawn over the image the model saw, as a small JPEG data: URI. The colours are a jet-like ramp
/// (blue, cyan, yellow, red: the convention readers of Grad-CAM figures know) and the heat is also the opacity, so
/// the cold parts of the photo stay visible under a light blue tint and the hot parts are covered in red.
/// </summary>
public static class HeatmapOverlay
{
    /// <summary>The longer side of an overlay in pixels: larger than a gallery thumbnail, since the heat's shape is the point.</summary>
    public const int MaxSide = 144;

    /// <summary>Opacity of the colour at heat 0 and at heat 1.</summary>
    const float AlphaCold = 0.25f, AlphaHot = 0.7f;

    /// <summary>
    /// The overlay of <paramref name="heat"/> (H·W values in [0, 1]) on <paramref name="rgb"/> (RGB in [0, 1], planar
    /// [3, H, W]), shrunk to <see cref="MaxSide"/>.
    /// </summary>
    public static string? DataUri(ReadOnlySpan<float> rgb, ReadOnlySpan<float> heat, int width, int height)
    {
        var plane = width * height;
        if (rgb.Length != 3 * plane || heat.Length != plane)
            throw new ArgumentException($"An overlay of {width}x{height} needs {3 * plane} RGB values and {plane} heat values; got {rgb.Length} and {heat.Length}.");
        using var full = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var pixels = full.GetPixelSpan();
        for (var i = 0; i < plane; i++)
        {
            var h = Math.Clamp(heat[i], 0f, 1f);
            var (r, g, b) = Jet(h);
            var alpha = AlphaCold + (AlphaHot - AlphaCold) * h;
            pixels[4 * i] = Byte((1 - alpha) * rgb[i] + alpha * r);
            pixels[4 * i + 1] = Byte((1 - alpha) * rgb[plane + i] + alpha * g);
            pixels[4 * i + 2] = Byte((1 - alpha) * rgb[2 * plane + i] + alpha * b);
            pixels[4 * i + 3] = 255;
        }
        var shortSide = (int)Math.Round(Math.Min(width, height) * Math.Min(1f, MaxSide / (float)Math.Max(width, height)));
        using var small = ImageRenderer.Shrink(full, Math.Max(1, shortSide));
        return Thumbnails.JpegDataUri(small);
    }

    /// <summary>matplotlib's jet colour map at <paramref name="v"/> in [0, 1], as RGB in [0, 1].</summary>
    public static (float R, float G, float B) Jet(float v) => (Linear(JetRed, v), Linear(JetGreen, v), Linear(JetBlue, v));

    // matplotlib's _jet_data: (position, value) points, linear between them.
    static readonly (float At, float Value)[] JetRed = [(0, 0), (0.35f, 0), (0.66f, 1), (0.89f, 1), (1, 0.5f)];
    static readonly (float At, float Value)[] JetGreen = [(0, 0), (0.125f, 0), (0.375f, 1), (0.64f, 1), (0.91f, 0), (1, 0)];
    static readonly (float At, float Value)[] JetBlue = [(0, 0.5f), (0.11f, 1), (0.34f, 1), (0.65f, 0), (1, 0)];

    static float Linear((float At, float Value)[] points, float v)
    {
        v = Math.Clamp(v, 0f, 1f);
        for (var i = 1; i < points.Length; i++)
            if (v <= points[i].At)
            {
                var (a, b) = (points[i - 1], points[i]);
                return a.Value + (b.Value - a.Value) * (v - a.At) / (b.At - a.At);
            }
        return points[^1].Value;
    }

    static byte Byte(float v) => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255);
}
