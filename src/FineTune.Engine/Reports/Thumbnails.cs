using FineTune.Data;
using SkiaSharp;

namespace FineTune.Reports;

/// <summary>
/// Small JPEG thumbnails as data: URIs, so the report is one file that needs no network and no image folder beside it.
/// One image is decoded at a time (JPEG at a reduced scale inside the decoder), so a test set of any size never holds
/// more than one decoded photo.
/// </summary>
public static class Thumbnails
{
    /// <summary>The longer side of a thumbnail in pixels: enough to recognise a photo, about 3 KB each.</summary>
    public const int MaxSide = 96;
    const int JpegQuality = 80;

    /// <summary>The thumbnail of <paramref name="file"/>, or null when there is no such file or it cannot be decoded.</summary>
    public static string? DataUri(string? file)
    {
        if (file is null || !File.Exists(file)) return null;
        try
        {
            var bytes = File.ReadAllBytes(file);
            using var data = SKData.CreateCopy(bytes);
            using var codec = ImageDecoder.OpenCodec(data, bytes, ImageDecoder.DefaultMaxPixels);
            var (width, height) = ImageDecoder.ShownSize(codec);
            var scale = Math.Min(1f, MaxSide / (float)Math.Max(width, height));
            using var decoded = ImageDecoder.DecodeRgba(codec, scale);
            var shortSide = Math.Max(1, (int)Math.Round(Math.Min(width, height) * scale));
            using var small = ImageRenderer.Shrink(decoded, shortSide);
            return JpegDataUri(small);
        }
        // A file that went missing or bad since the test pass read it costs its thumbnail, not the report.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ImageDecodeException)
        {
            return null;
        }
    }

    /// <summary>A bitmap as a JPEG data: URI (null if it cannot be encoded).</summary>
    public static string? JpegDataUri(SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, JpegQuality);
        return jpeg is null ? null : "data:image/jpeg;base64," + Convert.ToBase64String(jpeg.AsSpan());
    }

    /// <summary>A PNG chart as a data: URI.</summary>
    public static string PngDataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);
}
