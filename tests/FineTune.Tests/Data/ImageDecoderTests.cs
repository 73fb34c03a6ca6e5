using System.Buffers.Binary;
using System.IO.Compression;
using FineTune.Data;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

public class ImageDecoderTests
{
    [Fact]
    public void Grey_jpeg_becomes_rgb_with_equal_channels()
    {
        var dir = TestFiles.TempDir("grey");
        var path = TestFiles.Write(dir, "g.jpg", TestFiles.Encode(32, 24, new SKColor(200, 100, 50), grey: true));
        using (var codec = SKCodec.Create(path)) Assert.Equal(SKColorType.Gray8, codec.Info.ColorType); // really a 1-channel JPEG
        var image = ImageDecoder.DecodeRgb(path);
        Assert.Equal((32, 24), (image.Width, image.Height));
        Assert.Equal(32 * 24 * 3, image.Pixels.Length);
        Assert.Equal(image.Pixels[0], image.Pixels[1]);
        Assert.Equal(image.Pixels[1], image.Pixels[2]);
    }

    [Fact]
    public void Alpha_png_is_composited_on_white()
    {
        var dir = TestFiles.TempDir("alpha");
        // Left half fully transparent, right half half-transparent pure red.
        var path = TestFiles.Write(dir, "a.png", TestFiles.Encode(20, 10, SKColors.Transparent, new SKColor(255, 0, 0, 128), SKEncodedImageFormat.Png));
        var image = ImageDecoder.DecodeRgb(path);
        Assert.Equal(new byte[] { 255, 255, 255 }, image.Pixels[..3]);
        var right = image.Pixels.AsSpan((5 * 20 + 15) * 3, 3).ToArray();
        Assert.Equal(255, right[0]);
        Assert.InRange(right[1], 125, 129); // 255 * (1 - 128/255)
        Assert.InRange(right[2], 125, 129);
    }

    [Fact]
    public void A_jpeg_is_recognised_by_content_whatever_its_name()
    {
        var dir = TestFiles.TempDir("name");
        var bytes = TestFiles.Encode(16, 16, SKColors.Green);
        Assert.Equal(ImageFormat.Jpeg, ImageFormatSniffer.Sniff(TestFiles.Write(dir, "tmp", bytes)));
        Assert.Equal(ImageFormat.Jpeg, ImageFormatSniffer.Sniff(TestFiles.Write(dir, "photo.PNG", bytes)));
        Assert.Equal(16, ImageDecoder.DecodeRgb(Path.Combine(dir, "tmp")).Width);
        Assert.Equal(ImageFormat.Unknown, ImageFormatSniffer.Sniff(TestFiles.Write(dir, "notes.jpg", "hello, not an image"u8.ToArray())));
    }

    [Theory]
    [InlineData("zero")]
    [InlineData("truncated")]
    [InlineData("corrupt")]
    [InlineData("text")]
    public void Broken_files_are_refused_with_a_reason(string kind)
    {
        var dir = TestFiles.TempDir("broken");
        var path = TestFiles.Write(dir, "x.jpg", Broken(kind));
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeRgb(path));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    // The first bytes of an iPhone's HEIC (an ISO media file: box size, "ftyp", major brand, minor version, compatible
    // brands) and of an AVIF; the sniffer reads 16 bytes, so the rest is any bytes.
    [Theory]
    [InlineData("heic", "HEIC/HEIF photo (an iPhone camera's default format)", "heif-convert IN.heic OUT.jpg")]
    [InlineData("mif1", "HEIC/HEIF photo", "Most Compatible")]
    [InlineData("avif", "AVIF image", "convert it to JPEG or PNG")]
    public void A_phone_format_that_cannot_be_decoded_is_named_with_how_to_convert_it(string brand, string named, string fix)
    {
        byte[] head = [0, 0, 0, 0x18, .. "ftyp"u8, .. System.Text.Encoding.ASCII.GetBytes(brand), 0, 0, 0, 0, .. "mif1heic"u8, .. new byte[200]];
        var path = TestFiles.Write(TestFiles.TempDir("heic"), "IMG_0001.HEIC", head);
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeRgb(path));
        Assert.Contains(named, e.Message);
        Assert.Contains(fix, e.Message);
        // An ISO media file of another kind (an MP4 video) is just not an image.
        byte[] video = [0, 0, 0, 0x18, .. "ftypisom"u8, 0, 0, 2, 0, .. "isomiso2"u8, .. new byte[200]];
        Assert.StartsWith("not an image", Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeRgb(TestFiles.Write(TestFiles.TempDir("mp4"), "clip.mp4", video))).Message);
    }

    [PilFact]
    public void A_tiff_is_named_with_how_to_convert_it()
    {
        var dir = TestFiles.TempDir("tiff");
        var (code, output) = TestFiles.Python($$"""
            from PIL import Image
            Image.new('RGB', (40, 30), (220, 30, 30)).save(r'{{dir}}/scan.tif')
            """);
        Assert.True(code == 0, output);
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeRgb(Path.Combine(dir, "scan.tif")));
        Assert.Equal("a TIFF image, which FineTune cannot decode: convert it to PNG or JPEG", e.Message);
    }

    internal static byte[] Broken(string kind)
    {
        var good = TestFiles.Encode(64, 48, SKColors.Orange, SKColors.Purple);
        return kind switch
        {
            "zero" => [],
            "truncated" => good[..(good.Length / 2)],
            // Keep the headers, replace the entropy-coded data with garbage markers.
            "corrupt" => [.. good[..(good.Length / 3)], .. Enumerable.Repeat((byte)0xFF, 64), 0xD9],
            "text" => "this is a text file with a .jpg name"u8.ToArray(),
            _ => throw new ArgumentException(kind),
        };
    }

    [Fact]
    public void A_decompression_bomb_is_refused_before_decoding()
    {
        var dir = TestFiles.TempDir("bomb");
        var path = TestFiles.Write(dir, "bomb.png", PngBomb(30000, 30000));
        Assert.True(new FileInfo(path).Length < 200_000, "the bomb should be small on disk");
        var before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeRgb(path));
        Assert.Contains("30000x30000", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 50_000_000, "no pixel buffer may be allocated for a refused image");
    }

    /// <summary>A valid 1-bit grey PNG of width x height zeros: tiny compressed, 900 MB as RGB.</summary>
    internal static byte[] PngBomb(int width, int height)
    {
        var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[1 + (width + 7) / 8];
            for (int y = 0; y < height; y++) z.Write(row);
        }
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 1; // bit depth
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typed));
        s.Write(len);
    }

    static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    [PilFact]
    public void Cmyk_paletted_and_16_bit_images_become_8_bit_rgb()
    {
        var dir = TestFiles.TempDir("pil");
        var (code, output) = TestFiles.Python($$"""
            from PIL import Image
            import numpy as np
            d = r'{{dir}}'
            im = Image.new('RGB', (40, 30), (220, 30, 30))
            im.convert('CMYK').save(d + '/cmyk.jpg', quality=95)
            im.convert('P', palette=Image.ADAPTIVE, colors=8).save(d + '/palette.png')
            Image.fromarray((np.ones((30, 40)) * 40000).astype(np.uint16)).save(d + '/grey16.png')
            """);
        Assert.True(code == 0, output);
        using (var codec = SKCodec.Create(Path.Combine(dir, "grey16.png"))) Assert.NotNull(codec);

        var cmyk = ImageDecoder.DecodeRgb(Path.Combine(dir, "cmyk.jpg"));
        AssertColour(cmyk, 220, 30, 30, 12); // red stays red: the Adobe CMYK inversion is handled
        var palette = ImageDecoder.DecodeRgb(Path.Combine(dir, "palette.png"));
        AssertColour(palette, 220, 30, 30, 4);
        var grey16 = ImageDecoder.DecodeRgb(Path.Combine(dir, "grey16.png"));
        AssertColour(grey16, 40000 * 255 / 65535, 40000 * 255 / 65535, 40000 * 255 / 65535, 2);
    }

    static void AssertColour(RgbImage image, int r, int g, int b, int tolerance)
    {
        int mid = (image.Height / 2 * image.Width + image.Width / 2) * 3;
        Assert.InRange(image.Pixels[mid], r - tolerance, r + tolerance);
        Assert.InRange(image.Pixels[mid + 1], g - tolerance, g + tolerance);
        Assert.InRange(image.Pixels[mid + 2], b - tolerance, b + tolerance);
    }
}
