using System.Runtime.InteropServices;
using SkiaSharp;

namespace FineTune.Data;

/// <summary>Why one file cannot be used as an image (corrupt, truncated, empty, too large, not an image).</summary>
public sealed class ImageDecodeException(string reason) : FineTuneException(reason);

/// <summary>An 8-bit RGB image, rows top to bottom, 3 bytes a pixel.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// Decodes any supported image (JPEG grey/RGB/CMYK, PNG paletted/alpha/16-bit, GIF, BMP, WebP) to opaque
/// 8-bit RGBA with SkiaSharp. The header is read first and images above <see cref="MaxPixels"/> are refused
/// before a pixel is decoded: a 30000x30000 PNG is a few KB on disk but 3.6 GB in memory.
/// Pixels come upright, as every photo viewer and browser shows them: a phone stores a portrait photo sideways with an
/// EXIF orientation saying how to turn it, which the decoder applies (PIL's <c>ImageOps.exif_transpose</c>; a plain
/// <c>Image.open</c>, as torchvision's ImageFolder reads files, leaves it sideways).
/// </summary>
public static class ImageDecoder
{
    /// <summary>Default pixel limit, PIL's decompression-bomb error threshold (2 x 89,478,485 is its hard limit; we stay at the warning).</summary>
    public const long DefaultMaxPixels = 89_478_485;

    /// <summary>Opens a codec over the bytes and checks the header; the caller owns the codec.</summary>
    public static SKCodec OpenCodec(SKData data, ReadOnlySpan<byte> bytes, long maxPixels)
    {
        if (bytes.Length == 0) throw new ImageDecodeException("empty file (0 bytes)");
        var head = bytes[..Math.Min(bytes.Length, 16)];
        if (ImageFormatSniffer.Sniff(head) == ImageFormat.Unknown)
            throw new ImageDecodeException(ImageFormatSniffer.Unsupported(head) ?? "not an image (content is not JPEG, PNG, GIF, BMP or WebP)");
        var codec = SKCodec.Create(data)
            ?? throw new ImageDecodeException("unreadable image header (corrupt or truncated before the image size)");
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
        {
            codec.Dispose();
            throw new ImageDecodeException("image header gives an empty size");
        }
        if ((long)info.Width * info.Height > maxPixels)
        {
            codec.Dispose();
            throw new ImageDecodeException($"{info.Width}x{info.Height} pixels is above the limit of {maxPixels:N0} pixels (decompression bomb?); refused before decoding");
        }
        return codec;
    }

    /// <summary>The image's size as shown: EXIF orientations 5-8 (a photo turned a quarter) swap the stored width and height.</summary>
    public static (int Width, int Height) ShownSize(SKCodec codec) =>
        TurnsQuarter(codec.EncodedOrigin) ? (codec.Info.Height, codec.Info.Width) : (codec.Info.Width, codec.Info.Height);

    static bool TurnsQuarter(SKEncodedOrigin origin) => origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>
    /// Decodes to an opaque RGBA bitmap, upright (<see cref="ShownSize"/>), at a reduced size when <paramref name="desiredScale"/> &lt; 1 and the format
    /// supports it (JPEG decodes at 1/2, 1/4, 1/8 inside the IDCT: far cheaper than decoding and shrinking).
    /// Transparent pixels are composited on white, as PIL's convert('RGB') users expect for logos and scans.
    /// </summary>
    public static SKBitmap DecodeRgba(SKCodec codec, float desiredScale = 1f)
    {
        var size = desiredScale < 1f ? codec.GetScaledDimensions(desiredScale) : new SKSizeI(codec.Info.Width, codec.Info.Height);
        // JPEG decodes at n/8 scales and Skia rounds to the nearest one, which may be smaller than asked: never take
        // fewer pixels than the caller needs (an upsampled 7/8 decode is visibly blurrier than the original).
        if (size.Width <= 0 || size.Height <= 0 || size.Width < codec.Info.Width * desiredScale - 0.5f || size.Height < codec.Info.Height * desiredScale - 0.5f)
            size = new SKSizeI(codec.Info.Width, codec.Info.Height);
        bool opaque = codec.Info.AlphaType == SKAlphaType.Opaque;
        // No colour space: pixels are taken as stored, like PIL (ICC profiles are ignored by torchvision too).
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        try
        {
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
                throw new ImageDecodeException(result == SKCodecResult.IncompleteInput
                    ? "truncated image data (the file ends before the image does)"
                    : $"corrupt image data ({result})");
            if (!opaque) CompositeOnWhite(bitmap);
            return Upright(bitmap, codec.EncodedOrigin);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>Reads, checks and decodes a file to opaque RGBA in one go.</summary>
    public static SKBitmap DecodeRgba(byte[] bytes, long maxPixels = DefaultMaxPixels, float desiredScale = 1f)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = OpenCodec(data, bytes, maxPixels);
        return DecodeRgba(codec, desiredScale);
    }

    /// <summary>Decodes a file to 8-bit RGB.</summary>
    public static RgbImage DecodeRgb(string path, long maxPixels = DefaultMaxPixels)
    {
        using var bitmap = DecodeRgba(File.ReadAllBytes(path), maxPixels);
        var rgba = bitmap.GetPixelSpan();
        var rgb = new byte[bitmap.Width * bitmap.Height * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(bitmap.Width, bitmap.Height, rgb);
    }

    /// <summary>
    /// A caller's decoded bitmap (any colour type) as the opaque RGBA the renderer reads: drawn onto white, so transparent
    /// pixels count as white, as in <see cref="DecodeRgba(SKCodec, float)"/>. The caller owns the copy.
    /// </summary>
    public static SKBitmap ToOpaqueRgba(SKBitmap image)
    {
        var rgba = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(rgba))
        {
            canvas.Clear(SKColors.White);
            canvas.DrawBitmap(image, 0, 0);
        }
        return rgba;
    }

    /// <summary>
    /// <paramref name="stored"/> turned as EXIF <paramref name="origin"/> says (which stored corner is the shown top-left),
    /// exactly: each shown pixel is one stored pixel. Takes ownership of <paramref name="stored"/>.
    /// </summary>
    static SKBitmap Upright(SKBitmap stored, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft) return stored;
        int w = stored.Width, h = stored.Height;
        // The stored pixel under shown (x, y) is at index offset + x * alongRow + y * alongColumn.
        var (offset, alongRow, alongColumn) = origin switch
        {
            SKEncodedOrigin.TopRight => (w - 1, -1, w),                      // mirrored left to right
            SKEncodedOrigin.BottomRight => ((h - 1) * w + w - 1, -1, -w),    // turned half round
            SKEncodedOrigin.BottomLeft => ((h - 1) * w, 1, -w),              // mirrored top to bottom
            SKEncodedOrigin.LeftTop => (0, w, 1),                            // transposed
            SKEncodedOrigin.RightTop => ((h - 1) * w, -w, 1),                // to be turned a quarter clockwise
            SKEncodedOrigin.RightBottom => ((h - 1) * w + w - 1, -w, -1),    // transposed across the other diagonal
            SKEncodedOrigin.LeftBottom => (w - 1, w, -1),                    // to be turned a quarter anticlockwise
            _ => (0, 1, w),                                                  // an unknown value: as stored
        };
        bool quarter = TurnsQuarter(origin);
        var shown = new SKBitmap(new SKImageInfo(quarter ? h : w, quarter ? w : h, stored.ColorType, stored.AlphaType));
        try
        {
            var from = MemoryMarshal.Cast<byte, uint>(stored.GetPixelSpan());
            var to = MemoryMarshal.Cast<byte, uint>(shown.GetPixelSpan());
            int width = shown.Width, height = shown.Height;
            for (int y = 0; y < height; y++)
            {
                int source = offset + y * alongColumn;
                var row = to.Slice(y * width, width);
                for (int x = 0; x < width; x++, source += alongRow) row[x] = from[source];
            }
            return shown;
        }
        catch
        {
            shown.Dispose();
            throw;
        }
        finally
        {
            stored.Dispose();
        }
    }

    /// <summary>Premultiplied c over white is c + (255 - a): exact, no division.</summary>
    static void CompositeOnWhite(SKBitmap bitmap)
    {
        var px = MemoryMarshal.Cast<byte, uint>(bitmap.GetPixelSpan());
        for (int i = 0; i < px.Length; i++)
        {
            uint p = px[i];
            uint a = p >> 24;
            if (a == 255) continue;
            uint w = 255 - a;
            uint r = (p & 0xFF) + w, g = ((p >> 8) & 0xFF) + w, b = ((p >> 16) & 0xFF) + w;
            px[i] = 0xFF000000u | (Math.Min(b, 255u) << 16) | (Math.Min(g, 255u) << 8) | Math.Min(r, 255u);
        }
    }
}
