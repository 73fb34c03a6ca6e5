namespace FineTune.Data;

public enum ImageFormat { Unknown, Jpeg, Png, Gif, Bmp, Webp }

/// <summary>
/// Recognises an image by its first bytes, never by its name: Caltech-101 holds a JPEG named `tmp`,
/// and users have `.JPG`, `.jpeg`, `.png` files that may really be anything.
/// </summary>
public static class ImageFormatSniffer
{
    /// <summary>How many leading bytes <see cref="Sniff"/> looks at.</summary>
    public const int HeaderLength = 12;

    public static ImageFormat Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return ImageFormat.Jpeg;
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return ImageFormat.Png;
        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8)) return ImageFormat.Gif;
        if (head.Length >= 14 && head.StartsWith("BM"u8)) return ImageFormat.Bmp;
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)) return ImageFormat.Webp;
        return ImageFormat.Unknown;
    }

    /// <summary>
    /// What a file that <see cref="Sniff"/> does not recognise is, when it is an image format people have but FineTune
    /// cannot decode, with how to convert it; null otherwise. HEIC is an iPhone camera's default, so a folder of phone
    /// photos may hold nothing else.
    /// </summary>
    public static string? Unsupported(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = System.Text.Encoding.ASCII.GetString(head[8..12]);
            if (brand is "heic" or "heix" or "hevc" or "hevx" or "heim" or "heis" or "mif1" or "msf1")
                return "a HEIC/HEIF photo (an iPhone camera's default format), which FineTune cannot decode: convert it to JPEG " +
                       "(`heif-convert IN.heic OUT.jpg`, from Debian's libheif-examples), or set the camera to \"Most Compatible\"";
            if (brand is "avif" or "avis")
                return "an AVIF image, which FineTune cannot decode: convert it to JPEG or PNG (`heif-convert IN.avif OUT.jpg`)";
        }
        if (head.StartsWith("II*\0"u8) || head.StartsWith((ReadOnlySpan<byte>)[(byte)'M', (byte)'M', 0, 42]))
            return "a TIFF image, which FineTune cannot decode: convert it to PNG or JPEG";
        return null;
    }

    /// <summary>Reads just the header of a file (cheap: used while scanning thousands of files).</summary>
    public static ImageFormat Sniff(string path)
    {
        Span<byte> head = stackalloc byte[16];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return Sniff(head[..n]);
    }
}
