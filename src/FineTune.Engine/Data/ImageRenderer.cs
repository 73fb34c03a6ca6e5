using FineTune.Weights;
using SkiaSharp;

namespace FineTune.Data;

/// <summary>
/// Turns a decoded image and an <see cref="AffinePlan"/> into normalised floats [3, H, W] for the model:
/// one Skia draw (crop + flip + rotate + resize in one bilinear pass), then a per-channel lookup table that folds
/// the weights' pixel scale, channel order, mean and std into 256 entries. One renderer per worker thread.
/// </summary>
public sealed class ImageRenderer : IDisposable
{
    readonly float[][] _lut; // [model channel][byte value] -> normalised value
    readonly int[] _sourceChannel; // model channel -> byte offset in RGBA
    SKBitmap? _target;
    SKCanvas? _canvas;

    public ImageRenderer(Preprocessing preprocessing)
    {
        _sourceChannel = preprocessing.ChannelOrder == ChannelOrder.Bgr ? [2, 1, 0] : [0, 1, 2];
        _lut = new float[3][];
        for (int c = 0; c < 3; c++)
        {
            _lut[c] = new float[256];
            for (int v = 0; v < 256; v++)
                _lut[c][v] = (v / 255f * preprocessing.PixelScale - preprocessing.Mean[c]) / preprocessing.Std[c];
        }
    }

    /// <summary>Draws <paramref name="source"/> (a copy of the original shrunk by <paramref name="sourceScale"/>) through the plan into <paramref name="destination"/> (3*H*W floats).</summary>
    public void Render(SKBitmap source, float sourceScale, AffinePlan plan, Span<float> destination)
    {
        int w = plan.OutWidth, h = plan.OutHeight;
        if (destination.Length != 3 * w * h) throw new ArgumentException("destination must hold 3*H*W floats", nameof(destination));
        if (_target is null || _target.Width != w || _target.Height != h)
        {
            _canvas?.Dispose(); _target?.Dispose();
            _target = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
            _canvas = new SKCanvas(_target);
        }
        var canvas = _canvas!;
        canvas.ResetMatrix();
        canvas.Clear(SKColors.Black); // torchvision's rotation fill=0
        canvas.Save();
        canvas.SetMatrix(plan.Matrix(sourceScale));
        // Clip to the crop (in source coordinates) so rotated corners stay black instead of showing pixels beyond the crop.
        var s = sourceScale;
        canvas.ClipRect(new SKRect(plan.Crop.Left * s, plan.Crop.Top * s, plan.Crop.Right * s, plan.Crop.Bottom * s), antialias: plan.RotationDegrees != 0);
        using (var pixmap = source.PeekPixels())
        using (var image = SKImage.FromPixels(pixmap))
        {
            // Bilinear is exact enough down to half size; beyond that (PNG/BMP cannot be decoded shrunk) average with mipmaps.
            var shrink = plan.RequiredSourceScale / sourceScale;
            var sampling = new SKSamplingOptions(SKFilterMode.Linear, shrink < 0.5f ? SKMipmapMode.Linear : SKMipmapMode.None);
            canvas.DrawImage(image, 0, 0, sampling);
        }
        canvas.Restore();
        canvas.Flush();

        var rgba = _target.GetPixelSpan();
        int plane = w * h;
        var r = destination[..plane]; var g = destination.Slice(plane, plane); var b = destination.Slice(2 * plane, plane);
        var l0 = _lut[0]; var l1 = _lut[1]; var l2 = _lut[2];
        int o0 = _sourceChannel[0], o1 = _sourceChannel[1], o2 = _sourceChannel[2];
        for (int i = 0, p = 0; i < plane; i++, p += 4)
        {
            r[i] = l0[rgba[p + o0]];
            g[i] = l1[rgba[p + o1]];
            b[i] = l2[rgba[p + o2]];
        }
    }

    /// <summary>A copy of <paramref name="source"/> shrunk so its shorter side is <paramref name="shortSide"/> (never enlarged), for the in-memory cache.</summary>
    public static SKBitmap Shrink(SKBitmap source, int shortSide)
    {
        float scale = Math.Min(1f, shortSide / (float)Math.Min(source.Width, source.Height));
        if (scale >= 1f) return source.Copy();
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(source.Width * scale)), Math.Max(1, (int)Math.Round(source.Height * scale)), SKColorType.Rgba8888, SKAlphaType.Premul);
        var result = new SKBitmap(info);
        using var pixmap = source.PeekPixels();
        using var image = SKImage.FromPixels(pixmap);
        using var target = result.PeekPixels();
        image.ScalePixels(target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        return result;
    }

    public void Dispose()
    {
        _canvas?.Dispose();
        _target?.Dispose();
    }
}
