using FineTune.Data;
using FineTune.Weights;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

public class TransformTests
{
    static readonly Preprocessing Unit = new(224, 1f, ChannelOrder.Rgb, [0f, 0f, 0f], [1f, 1f, 1f]);

    static float[] Render(byte[] file, AffinePlan plan, Preprocessing? prep = null)
    {
        using var bitmap = ImageDecoder.DecodeRgba(file);
        using var renderer = new ImageRenderer(prep ?? Unit);
        var output = new float[3 * plan.OutWidth * plan.OutHeight];
        renderer.Render(bitmap, 1f, plan, output);
        return output;
    }

    [Fact]
    public void Flip_mirrors_left_and_right()
    {
        var file = TestFiles.Encode(64, 64, new SKColor(255, 0, 0), new SKColor(0, 0, 255), SKEncodedImageFormat.Png);
        var plain = new AffinePlan(SKRect.Create(0, 0, 64, 64), false, 0, 32, 32);
        var a = Render(file, plain);
        var b = Render(file, plain with { Flip = true });
        int plane = 32 * 32, leftPixel = 16 * 32 + 2;
        Assert.Equal(1f, a[leftPixel], 2);           // red channel on the left
        Assert.Equal(0f, b[leftPixel], 2);
        Assert.Equal(1f, b[2 * plane + leftPixel], 2); // blue on the left after the flip
    }

    [Fact]
    public void A_large_shrink_without_rotation_keeps_the_geometry_through_the_antialiasing_filter()
    {
        // 640 -> 32 pixels: far beyond what bilinear can shrink without aliasing, and PNG cannot be decoded small.
        var file = TestFiles.Encode(640, 640, new SKColor(255, 0, 0), new SKColor(0, 0, 255), SKEncodedImageFormat.Png);
        var output = Render(file, new AffinePlan(SKRect.Create(0, 0, 640, 640), true, 0, 32, 32));
        int plane = 32 * 32, row = 16 * 32;
        Assert.Equal(1f, output[2 * plane + row + 2], 2); // flipped: blue on the left
        Assert.Equal(1f, output[row + 29], 2);            // red on the right
        Assert.Equal(0f, output[2 * plane + row + 29], 2);
    }

    [Fact]
    public void A_rotated_large_shrink_goes_through_mipmaps_and_averages_fine_stripes()
    {
        // Without rotation a shrink takes the antialiasing filter; with one, a shrink past 2x draws through Skia's
        // mipmaps. Diagonal one-pixel stripes, one white in three, shrunk 20x must average to a third: plain bilinear
        // sampling would read 2x2 source pixels per output pixel and alias to 1/4 or 1/2.
        using var stripes = new SKBitmap(new SKImageInfo(640, 640, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (int y = 0; y < 640; y++)
            for (int x = 0; x < 640; x++)
                stripes.SetPixel(x, y, (x + y) % 3 == 0 ? SKColors.White : SKColors.Black);
        var plan = new AffinePlan(SKRect.Create(0, 0, 640, 640), false, 90, 32, 32);
        Assert.True(plan.RequiredSourceScale < 0.5f, "the plan must be a shrink past 2x, the mipmap path's condition");
        using var renderer = new ImageRenderer(Unit);
        var output = new float[3 * 32 * 32];
        renderer.Render(stripes, 1f, plan, output);
        // Away from the border, every pixel is the stripes' average.
        for (int y = 4; y < 28; y++)
            for (int x = 4; x < 28; x++)
                Assert.True(Math.Abs(output[y * 32 + x] - 1f / 3) < 0.08f, $"pixel ({x}, {y}) is {output[y * 32 + x]}, not the average 1/3");
    }

    [Fact]
    public void Rotation_fills_the_corners_with_black()
    {
        var file = TestFiles.Encode(64, 64, SKColors.White, format: SKEncodedImageFormat.Png);
        var output = Render(file, new AffinePlan(SKRect.Create(0, 0, 64, 64), false, 45, 64, 64));
        Assert.Equal(0f, output[0], 2);             // top-left corner
        Assert.Equal(1f, output[32 * 64 + 32], 2);  // centre stays white
    }

    [Fact]
    public void Normalisation_follows_the_weights_preprocessing()
    {
        var file = TestFiles.Encode(16, 16, new SKColor(255, 0, 0), format: SKEncodedImageFormat.Png);
        var plan = new AffinePlan(SKRect.Create(0, 0, 16, 16), false, 0, 8, 8);
        var imagenet = Render(file, plan, Preprocessing.ImageNet);
        Assert.Equal((1 - 0.485f) / 0.229f, imagenet[0], 3);
        Assert.Equal((0 - 0.406f) / 0.225f, imagenet[2 * 64], 3);
        // The bundled CNTK weights: 0..255, BGR, mean only.
        var bgr = Render(file, plan, new Preprocessing(224, 255f, ChannelOrder.Bgr, [103.06f, 115.90f, 123.15f], [1f, 1f, 1f]));
        Assert.Equal(0 - 103.06f, bgr[0], 2);        // channel 0 is blue
        Assert.Equal(255 - 123.15f, bgr[2 * 64], 2); // channel 2 is red
    }

    [Fact]
    public void A_mean_image_is_subtracted_per_pixel_at_the_output_size()
    {
        // The bundled ResNet-18 subtracts a picture, not three numbers: the loader must give exactly what
        // Preprocessing.Normalize gives (its parity with ONNX Runtime is tested on that path).
        var file = TestFiles.Encode(16, 16, new SKColor(200, 100, 50), format: SKEncodedImageFormat.Png);
        var plan = new AffinePlan(SKRect.Create(0, 0, 16, 16), false, 0, 8, 8);
        var values = Enumerable.Range(0, 3 * 4 * 4).Select(i => 100f + i * 1.5f).ToArray();
        var meanImage = new MeanImage(4, 4, values);
        var withImage = new Preprocessing(224, 255f, ChannelOrder.Bgr, meanImage.ChannelMeans(), [1f, 2f, 1f]) { MeanImage = meanImage };
        var rendered = Render(file, plan, withImage);

        var raw = Render(file, plan, new Preprocessing(224, 1f, ChannelOrder.Rgb, [0f, 0f, 0f], [1f, 1f, 1f]));
        using var rgb01 = TorchSharp.torch.tensor(raw, [1, 3, 8, 8]); // scale 1: already in [0, 1]
        using var expected = withImage.Normalize(rgb01);
        var reference = expected.data<float>().ToArray();
        for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - rendered[i]) < 1e-3, $"value {i}: {rendered[i]} vs {reference[i]}");
        Assert.NotEqual(rendered[0], rendered[7]); // the mean differs across the row, so would the output
    }

    [Fact]
    public void The_mean_image_is_resized_again_for_an_output_of_the_same_area_but_another_shape()
    {
        // 8x4 and 4x8 outputs have the same pixel count: a cache keyed by area would subtract the wrong picture.
        var file = TestFiles.Encode(16, 16, new SKColor(200, 100, 50), format: SKEncodedImageFormat.Png);
        var values = Enumerable.Range(0, 3 * 4 * 4).Select(i => 100f + i * 1.5f).ToArray();
        var meanImage = new MeanImage(4, 4, values);
        var prep = new Preprocessing(224, 255f, ChannelOrder.Bgr, meanImage.ChannelMeans(), [1f, 1f, 1f]) { MeanImage = meanImage };
        var wide = new AffinePlan(SKRect.Create(0, 0, 16, 16), false, 0, 8, 4);
        var tall = new AffinePlan(SKRect.Create(0, 0, 16, 16), false, 0, 4, 8);
        using var bitmap = ImageDecoder.DecodeRgba(file);
        using var renderer = new ImageRenderer(prep);
        var first = new float[3 * 32];
        renderer.Render(bitmap, 1f, wide, first);
        var second = new float[3 * 32];
        renderer.Render(bitmap, 1f, tall, second);
        Assert.Equal(Render(file, tall, prep), second); // as a fresh renderer gives
    }

    [Fact]
    public void Random_resized_crop_stays_within_its_scale_and_ratio()
    {
        var t = new TrainTransform().Validate();
        for (int i = 0; i < 500; i++)
        {
            var random = new SplitMix64(SplitMix64.Mix(1, i));
            var plan = t.Plan(300, 200, ref random);
            var area = plan.Crop.Width * plan.Crop.Height / (300f * 200f);
            Assert.InRange(area, 0.79f, 1.0f);
            Assert.InRange(plan.Crop.Width / plan.Crop.Height, 0.79f, 1.21f);
            Assert.True(plan.Crop.Left >= 0 && plan.Crop.Top >= 0 && plan.Crop.Right <= 300 && plan.Crop.Bottom <= 200);
            Assert.InRange(plan.RotationDegrees, -15f, 15f);
        }
    }

    [Fact]
    public void Presets_are_the_seeds_pipelines_and_invalid_steps_are_named()
    {
        Assert.Equal(new TrainTransform(224, 0.8, 1.0, 0.8, 1.2, 0.5, 15), ImageTransform.Preset("train"));
        Assert.Equal(new EvalTransform(224, ResizeMode.Stretch), ImageTransform.Preset("eval"));
        var random = new SplitMix64(1);
        Assert.Equal(SKRect.Create(0, 0, 300, 200), new EvalTransform().Plan(300, 200, ref random).Crop);
        Assert.Contains("Crop scale", Assert.Throws<DatasetException>(() => new TrainTransform(ScaleMin: 0.9, ScaleMax: 0.5).Validate()).Message);
        Assert.Throws<DatasetException>(() => ImageTransform.Preset("fancy"));
    }

    [PilFact]
    public void Resize_matches_PIL_bilinear_when_enlarging()
    {
        var dir = TestFiles.TempDir("pilresize");
        var (code, output) = TestFiles.Python($$"""
            from PIL import Image
            import numpy as np
            y, x = np.mgrid[0:12, 0:16]
            a = np.stack([x * 15, y * 20, (x * y) % 256], -1).astype(np.uint8)
            Image.fromarray(a).save(r'{{dir}}/g.png')
            Image.fromarray(a).resize((36, 24), Image.BILINEAR).save(r'{{dir}}/big.png')
            """);
        Assert.True(code == 0, output);
        // 36 wide: 32 pixels a row go through the AVX2 path, the last 4 through the scalar one; both must match PIL.
        var output36 = Render(File.ReadAllBytes(Path.Combine(dir, "g.png")), new AffinePlan(SKRect.Create(0, 0, 16, 12), false, 0, 36, 24));
        var pil = ImageDecoder.DecodeRgb(Path.Combine(dir, "big.png"));
        float worst = 0;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 36 * 24; i++)
                worst = Math.Max(worst, Math.Abs(output36[c * 36 * 24 + i] * 255 - pil.Pixels[i * 3 + c]));
        Assert.True(worst <= 1.01f, $"largest difference from PIL: {worst} levels");
    }

    [PilFact]
    public void Shrinking_matches_PIL_bilinear_with_its_antialiasing()
    {
        // Noise is the hard case: plain bilinear sampling of a 2.6x / 1.7x shrink would differ from PIL by tens of levels.
        var dir = TestFiles.TempDir("pilshrink");
        var (code, output) = TestFiles.Python($$"""
            from PIL import Image
            import numpy as np
            a = np.random.RandomState(5).randint(0, 256, (171, 259, 3)).astype(np.uint8)
            Image.fromarray(a).save(r'{{dir}}/noise.png')
            Image.fromarray(a).resize((100, 100), Image.BILINEAR).save(r'{{dir}}/stretch.png')
            Image.fromarray(a).crop((40, 20, 240, 150)).resize((64, 48), Image.BILINEAR).transpose(Image.FLIP_LEFT_RIGHT).save(r'{{dir}}/crop.png')
            """);
        Assert.True(code == 0, output);
        var file = File.ReadAllBytes(Path.Combine(dir, "noise.png"));
        foreach (var (plan, reference) in new[]
        {
            (new AffinePlan(SKRect.Create(0, 0, 259, 171), false, 0, 100, 100), "stretch.png"),
            (new AffinePlan(SKRect.Create(40, 20, 200, 130), true, 0, 64, 48), "crop.png"),
        })
        {
            var ours = Render(file, plan);
            var pil = ImageDecoder.DecodeRgb(Path.Combine(dir, reference));
            int plane = plan.OutWidth * plan.OutHeight;
            float worst = 0;
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < plane; i++)
                    worst = Math.Max(worst, Math.Abs(ours[c * plane + i] * 255 - pil.Pixels[i * 3 + c]));
            // PIL rounds to whole levels between its two passes; we keep floats.
            Assert.True(worst <= 1.51f, $"{reference}: largest difference from PIL {worst} levels");
        }
    }

    [Fact]
    public void A_jpeg_is_never_decoded_smaller_than_the_scale_asked_for()
    {
        // 519x343 asked at 0.933: the nearest JPEG scale (7/8) would give 300 rows for 320 wanted, so it decodes whole.
        var file = TestFiles.Encode(519, 343, new SKColor(200, 10, 10), new SKColor(10, 10, 200), SKEncodedImageFormat.Jpeg);
        using var bitmap = ImageDecoder.DecodeRgba(file, desiredScale: 320f / 343);
        Assert.True(bitmap.Height >= 320, $"decoded {bitmap.Width}x{bitmap.Height}");
        using var half = ImageDecoder.DecodeRgba(file, desiredScale: 0.5f);
        Assert.True(half.Width >= 259 && half.Width < 519, $"a half-size decode is still used when it is enough: {half.Width}x{half.Height}");
    }
}
