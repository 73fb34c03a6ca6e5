using FineTune.Data;
using FineTune.Weights;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>
/// Photos come upright: a phone stores a portrait photo sideways with an EXIF orientation (1-8) saying which stored
/// corner is the shown top-left, and every viewer, browser and the report's thumbnails turn it. Files here are real
/// JPEGs (Skia's encoder) with a real EXIF block (APP1, as cameras write it), decoded by Skia's JPEG codec.
/// </summary>
public sealed class ExifOrientationTests
{
    static readonly SKColor Red = new(230, 20, 20), Green = new(20, 200, 20), Blue = new(20, 20, 230), White = new(250, 250, 250);

    /// <summary>A 48x24 image stored as four flat quadrants: red top-left, green top-right, blue bottom-left, white bottom-right.</summary>
    static byte[] Quadrants(int orientation)
    {
        using var bitmap = new SKBitmap(48, 24, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 48; x++)
                bitmap.SetPixel(x, y, (x < 24, y < 12) switch { (true, true) => Red, (false, true) => Green, (true, false) => Blue, _ => White });
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        return WithOrientation(data.ToArray(), orientation);
    }

    /// <summary>
    /// <paramref name="jpeg"/> with an EXIF block right after its start-of-image marker: "Exif\0\0", a big-endian TIFF
    /// header and one IFD entry, Orientation (tag 0x0112, SHORT) = <paramref name="orientation"/>.
    /// </summary>
    public static byte[] WithOrientation(byte[] jpeg, int orientation)
    {
        byte[] exif =
        [
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8,              // TIFF header, first IFD at offset 8
            0, 1,                                                   // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, // Orientation, SHORT, count 1, value
            0, 0, 0, 0,                                             // no next IFD
        ];
        int length = exif.Length + 2;
        return [.. jpeg[..2], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. exif, .. jpeg[2..]];
    }

    // What each orientation shows (the EXIF 2.3 table): the colours at the shown top-left, top-right, bottom-left and
    // bottom-right, and whether width and height swap (5-8: the photo is turned a quarter).
    [Theory]
    [InlineData(1, "RGBW", false)] // as stored
    [InlineData(2, "GRWB", false)] // mirrored left to right
    [InlineData(3, "WBGR", false)] // turned half round
    [InlineData(4, "BWRG", false)] // mirrored top to bottom
    [InlineData(5, "RBGW", true)]  // transposed: the stored top-left stays, rows become columns
    [InlineData(6, "BRWG", true)]  // stored turned a quarter anticlockwise: shown turned back clockwise (a phone held upright)
    [InlineData(7, "WGBR", true)]  // transposed across the other diagonal
    [InlineData(8, "GWRB", true)]  // turned a quarter the other way
    public void Each_exif_orientation_is_decoded_upright(int orientation, string corners, bool swapsSides)
    {
        var bytes = Quadrants(orientation);
        using (var data = SKData.CreateCopy(bytes))
        using (var codec = ImageDecoder.OpenCodec(data, bytes, ImageDecoder.DefaultMaxPixels))
        {
            Assert.Equal((SKEncodedOrigin)orientation, codec.EncodedOrigin); // the codec read the EXIF block
            Assert.Equal(swapsSides ? (24, 48) : (48, 24), ImageDecoder.ShownSize(codec));
        }
        using var image = ImageDecoder.DecodeRgba(bytes);
        Assert.Equal(swapsSides ? (24, 48) : (48, 24), (image.Width, image.Height));
        int w = image.Width, h = image.Height;
        var at = new[] { (w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4) };
        for (int i = 0; i < 4; i++)
        {
            var expected = corners[i] switch { 'R' => Red, 'G' => Green, 'B' => Blue, _ => White };
            var got = image.GetPixel(at[i].Item1, at[i].Item2);
            Assert.True(Near(expected, got), $"orientation {orientation}, corner {i}: expected {expected}, got {got}");
        }
    }

    [Fact]
    public void A_sideways_stored_photo_is_classified_as_the_upright_one_is_at_a_scaled_down_decode()
    {
        // 480x240 stored, EXIF 6: shown 240x480. Evaluated at 64 px the JPEG is decoded at 1/2 inside the IDCT (the size
        // of the plan must then be the shown one, or the crop lands wrong), and must match drawing the upright bitmap.
        using var big = new SKBitmap(480, 240, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < 240; y++)
            for (int x = 0; x < 480; x++)
                big.SetPixel(x, y, (x < 240, y < 120) switch { (true, true) => Red, (false, true) => Green, (true, false) => Blue, _ => White });
        using var encoded = big.Encode(SKEncodedImageFormat.Jpeg, 95);
        var bytes = WithOrientation(encoded.ToArray(), 6);
        var renderer = new ImageRenderer(Preprocessing.ImageNet);
        var transform = new EvalTransform(64, ResizeMode.Stretch);
        var fromFile = new float[3 * 64 * 64];
        renderer.RenderEncoded(bytes, transform, fromFile);
        using var upright = ImageDecoder.DecodeRgba(bytes);
        Assert.Equal((240, 480), (upright.Width, upright.Height));
        var fromBitmap = new float[3 * 64 * 64];
        renderer.Render(upright, transform, fromBitmap);
        double worst = fromFile.Zip(fromBitmap, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 0.25, $"largest difference {worst:0.000} (normalised units; a 1/2-scale decode differs by JPEG rounding only)");
        // And it is upright: the shown top-left quadrant is the stored bottom-left one (blue).
        Assert.True(fromFile[2 * 64 * 64 + 8 * 64 + 8] > 1 && fromFile[8 * 64 + 8] < 0, "the top-left of the shown photo is blue");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_loader_reads_a_sideways_stored_photo_as_its_upright_twin(bool cacheImages)
    {
        // The upright photo U is 240 wide and 480 high; S is U as a phone stores it (turned a quarter anticlockwise,
        // 480x240, EXIF 6): S(x, y) = U(239 - y, x). The scan, the loader's plan and its decode (cached or not) must
        // all take the shown size.
        static SKColor U(int x, int y) => (x < 120, y < 240) switch { (true, true) => Red, (false, true) => Green, (true, false) => Blue, _ => White };
        using var upright = new SKBitmap(240, 480, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var stored = new SKBitmap(480, 240, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < 480; y++) for (int x = 0; x < 240; x++) upright.SetPixel(x, y, U(x, y));
        for (int y = 0; y < 240; y++) for (int x = 0; x < 480; x++) stored.SetPixel(x, y, U(239 - y, x));
        var root = TestFiles.TempDir("exif-loader");
        using (var a = upright.Encode(SKEncodedImageFormat.Jpeg, 95)) TestFiles.Write(root, "a_upright/photo.jpg", a.ToArray());
        using (var b = stored.Encode(SKEncodedImageFormat.Jpeg, 95)) TestFiles.Write(root, "b_sideways/photo.jpg", WithOrientation(b.ToArray(), 6));

        var scan = DatasetScan.Run(root);
        Assert.All(scan.Images, i => Assert.Equal((240, 480), (i.Width, i.Height)));
        using var loader = new DataLoader(ImageDataset.FromScan(scan), new EvalTransform(Size: 64), Preprocessing.ImageNet,
            new LoaderOptions(BatchSize: 2, NumWorkers: 1, Shuffle: false, CacheImages: cacheImages));
        using var batch = loader.Epoch(0).Single();
        var pixels = batch.Images.data<float>().ToArray();
        int one = 3 * 64 * 64;
        double worst = Enumerable.Range(0, one).Max(i => Math.Abs(pixels[i] - pixels[one + i]));
        Assert.True(worst < 0.25, $"largest difference {worst:0.000} between the two photos (normalised units)");
    }

    /// <summary>PIL's <c>ImageOps.exif_transpose</c> (the reference the exported model's loader uses) turns each orientation as FineTune does.</summary>
    [PilFact]
    public void Pil_turns_each_orientation_as_finetune_does()
    {
        var dir = TestFiles.TempDir("exif-pil");
        for (int o = 1; o <= 8; o++) File.WriteAllBytes(Path.Combine(dir, $"o{o}.jpg"), Quadrants(o));
        var (code, output) = TestFiles.Python($$"""
            from PIL import Image, ImageOps
            d = r'{{dir}}'
            for o in range(1, 9):
                with Image.open(f'{d}/o{o}.jpg') as im:
                    ImageOps.exif_transpose(im).convert('RGB').save(f'{d}/o{o}.png')
            """);
        Assert.True(code == 0, output);
        for (int o = 1; o <= 8; o++)
        {
            using var ours = ImageDecoder.DecodeRgba(File.ReadAllBytes(Path.Combine(dir, $"o{o}.jpg")));
            using var pil = SKBitmap.Decode(Path.Combine(dir, $"o{o}.png"));
            Assert.Equal((pil.Width, pil.Height), (ours.Width, ours.Height));
            double sum = 0;
            for (int y = 0; y < ours.Height; y++)
                for (int x = 0; x < ours.Width; x++)
                {
                    SKColor a = ours.GetPixel(x, y), b = pil.GetPixel(x, y);
                    sum += Math.Abs(a.Red - b.Red) + Math.Abs(a.Green - b.Green) + Math.Abs(a.Blue - b.Blue);
                }
            double mean = sum / (3.0 * ours.Width * ours.Height);
            Assert.True(mean < 3, $"orientation {o}: mean difference {mean:0.00} of 255 against PIL (both libjpeg decodes; a wrong turn differs by ~100)");
        }
    }

    static bool Near(SKColor a, SKColor b) => Math.Abs(a.Red - b.Red) < 30 && Math.Abs(a.Green - b.Green) < 30 && Math.Abs(a.Blue - b.Blue) < 30;
}
