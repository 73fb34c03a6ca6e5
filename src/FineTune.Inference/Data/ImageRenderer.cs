using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FineTune.Weights;
using SkiaSharp;

namespace FineTune.Data;

/// <summary>
/// Turns a decoded image and an <see cref="AffinePlan"/> into normalised floats [3, H, W] for the model in one pass:
/// each output pixel is mapped back through the inverse of (crop, flip, rotate, resize), sampled bilinearly from the
/// RGBA source and written straight into the destination with the weights' scale, channel order, mean and std folded
/// into one multiply-add per channel. A shrink without rotation (evaluation, most training crops) goes through
/// <see cref="AntialiasResampler"/> (PIL's filter, as torchvision); a rotated shrink beyond 2x goes through Skia with
/// mipmaps, so it averages instead of aliasing. One renderer per worker thread.
/// </summary>
public sealed class ImageRenderer : IDisposable
{
    readonly float[] _mul = new float[3], _add = new float[3]; // model channel: value = byte * mul + add
    readonly int[] _sourceChannel; // model channel -> byte offset in RGBA
    readonly MeanImage? _meanImage;
    readonly float[] _std;
    float[]? _meanOverStd; // the mean image at the last output size, already divided by std
    (int Height, int Width) _meanSize; // that size: 8x4 and 4x8 have the same length but not the same picture
    SKBitmap? _target;
    SKCanvas? _canvas;

    public ImageRenderer(Preprocessing preprocessing)
    {
        _sourceChannel = preprocessing.ChannelOrder == ChannelOrder.Bgr ? [2, 1, 0] : [0, 1, 2];
        _meanImage = preprocessing.MeanImage;
        _std = preprocessing.Std;
        for (int c = 0; c < 3; c++)
        {
            _mul[c] = preprocessing.PixelScale / 255f / preprocessing.Std[c];
            // Weights with a mean image (the bundled ResNet-18) subtract it per pixel after sampling;
            // its channel averages alone shift the features by about 4%.
            _add[c] = _meanImage is null ? -preprocessing.Mean[c] / preprocessing.Std[c] : 0f;
        }
    }

    /// <summary>
    /// Decodes an encoded image (header checked against the size and decompression-bomb limits first) and draws it through
    /// <paramref name="transform"/>'s evaluation resize into <paramref name="destination"/>. A JPEG is decoded at the
    /// smallest n/8 scale the resize still needs, as the training loader decodes a file, so a file and its bytes give the
    /// same pixels wherever they are classified (`finetune predict`, a checkpoint's or an .onnx file's classifier).
    /// </summary>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, corrupt, or too many pixels.</exception>
    public void RenderEncoded(byte[] bytes, EvalTransform transform, Span<float> destination)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = ImageDecoder.OpenCodec(data, bytes, ImageDecoder.DefaultMaxPixels);
        var (width, height) = ImageDecoder.ShownSize(codec);
        var random = new SplitMix64(0);
        var plan = transform.Plan(width, height, ref random);
        using var bitmap = ImageDecoder.DecodeRgba(codec, plan.RequiredSourceScale);
        Render(bitmap, bitmap.Width / (float)width, plan, destination);
    }

    /// <summary>Draws an opaque RGBA bitmap, at its full size, through <paramref name="transform"/>'s evaluation resize into <paramref name="destination"/>.</summary>
    public void Render(SKBitmap opaqueRgba, EvalTransform transform, Span<float> destination)
    {
        var random = new SplitMix64(0); // evaluation plans draw nothing
        Render(opaqueRgba, 1f, transform.Plan(opaqueRgba.Width, opaqueRgba.Height, ref random), destination);
    }

    /// <summary>Draws <paramref name="source"/> (a copy of the original shrunk by <paramref name="sourceScale"/>) through the plan into <paramref name="destination"/> (3*H*W floats).</summary>
    public void Render(SKBitmap source, float sourceScale, AffinePlan plan, Span<float> destination)
    {
        if (destination.Length != 3 * plan.OutWidth * plan.OutHeight) throw new ArgumentException("destination must hold 3*H*W floats", nameof(destination));
        if (source.ColorType != SKColorType.Rgba8888) throw new ArgumentException("source must be RGBA 8888 (ImageDecoder.DecodeRgba)", nameof(source));
        var s = sourceScale;
        if (plan.RotationDegrees == 0 && (plan.OutWidth < plan.Crop.Width * s || plan.OutHeight < plan.Crop.Height * s))
        {
            // A shrink without rotation (every evaluation, most crops): PIL's antialiasing filter, as torchvision resizes.
            RenderAntialiased(source, s, plan, destination);
            if (_meanImage is not null) SubtractMeanImage(plan.OutHeight, plan.OutWidth, destination);
            return;
        }
        var clip = new SKRect(plan.Crop.Left * s, plan.Crop.Top * s, plan.Crop.Right * s, plan.Crop.Bottom * s);
        if (plan.RequiredSourceScale / sourceScale < 0.5f)
        {
            var drawn = DrawWithMipmaps(source, plan.Matrix(sourceScale), clip, plan.OutWidth, plan.OutHeight);
            Sample(drawn.GetPixelSpan(), drawn.Width, drawn.Height, drawn.RowBytes, SKMatrix.Identity, SKRect.Create(0, 0, drawn.Width, drawn.Height), plan.OutWidth, plan.OutHeight, destination);
        }
        else
        {
            if (!plan.Matrix(sourceScale).TryInvert(out var inverse)) throw new ArgumentException("the plan's matrix is not invertible (empty crop?)", nameof(plan));
            Sample(source.GetPixelSpan(), source.Width, source.Height, source.RowBytes, inverse, clip, plan.OutWidth, plan.OutHeight, destination);
        }
        if (_meanImage is not null) SubtractMeanImage(plan.OutHeight, plan.OutWidth, destination);
    }

    void RenderAntialiased(SKBitmap source, float s, AffinePlan plan, Span<float> destination)
    {
        int w = plan.OutWidth, h = plan.OutHeight, plane = w * h;
        var rented = System.Buffers.ArrayPool<float>.Shared.Rent(3 * plane);
        var rgb = rented.AsSpan(0, 3 * plane);
        AntialiasResampler.ResizeToPlanes(source.GetPixelSpan(), source.Width, source.Height, source.RowBytes,
            plan.Crop.Left * s, plan.Crop.Top * s, plan.Crop.Width * s, plan.Crop.Height * s, w, h, rgb);
        for (int c = 0; c < 3; c++)
        {
            var from = rgb.Slice(_sourceChannel[c] * plane, plane);
            var to = destination.Slice(c * plane, plane);
            float mul = _mul[c], add = _add[c];
            for (int y = 0; y < h; y++)
            {
                var row = from.Slice(y * w, w);
                var outRow = to.Slice(y * w, w);
                if (plan.Flip) for (int x = 0; x < w; x++) outRow[x] = row[w - 1 - x] * mul + add;
                else for (int x = 0; x < w; x++) outRow[x] = row[x] * mul + add;
            }
        }
        System.Buffers.ArrayPool<float>.Shared.Return(rented);
    }

    void SubtractMeanImage(int height, int width, Span<float> destination)
    {
        int plane = height * width;
        if (_meanOverStd is null || _meanSize != (height, width))
        {
            var resized = _meanImage!.ResizedTo(height, width);
            var scaled = new float[resized.Length];
            for (int i = 0; i < scaled.Length; i++) scaled[i] = resized[i] / _std[i / plane];
            _meanOverStd = scaled;
            _meanSize = (height, width);
        }
        var mean = _meanOverStd.AsSpan();
        int n = 0, width8 = System.Numerics.Vector<float>.Count;
        for (; n + width8 <= mean.Length; n += width8)
            (new System.Numerics.Vector<float>(destination[n..]) - new System.Numerics.Vector<float>(mean[n..])).CopyTo(destination[n..]);
        for (; n < mean.Length; n++) destination[n] -= mean[n];
    }

    /// <summary>
    /// Bilinear sampling of output pixel centres mapped through <paramref name="inverse"/>; points outside <paramref name="clip"/>
    /// (the crop, in source pixels) are black, as torchvision's rotation fill=0; edges clamp, as PIL does.
    /// </summary>
    unsafe void Sample(ReadOnlySpan<byte> rgba, int width, int height, int stride, SKMatrix inverse, SKRect clip, int outW, int outH, Span<float> destination)
    {
        int plane = outW * outH;
        int o0 = _sourceChannel[0], o1 = _sourceChannel[1], o2 = _sourceChannel[2];
        float m0 = _mul[0], m1 = _mul[1], m2 = _mul[2], a0 = _add[0], a1 = _add[1], a2 = _add[2];
        // Half a pixel of slack so the crop's own border pixels are not lost to rounding.
        float left = clip.Left - 0.5f, top = clip.Top - 0.5f, right = clip.Right + 0.5f, bottom = clip.Bottom + 0.5f;
        float sx = inverse.ScaleX, kx = inverse.SkewX, tx = inverse.TransX, ky = inverse.SkewY, sy = inverse.ScaleY, ty = inverse.TransY;
        float maxU = width - 1, maxV = height - 1;
        fixed (byte* src = rgba)
        fixed (float* dst = destination)
        {
            float* d0 = dst, d1 = dst + plane, d2 = dst + 2 * plane;
            for (int y = 0; y < outH; y++)
            {
                float cy = y + 0.5f;
                // Sample position of pixel (0, y), already shifted by -0.5 to the grid of source pixel centres.
                float u = kx * cy + tx + sx * 0.5f - 0.5f, v = sy * cy + ty + ky * 0.5f - 0.5f;
                int i = y * outW, x = 0;
                if (Avx2.IsSupported)
                {
                    x = SampleRowAvx2(src, width, height, stride, u, v, sx, ky, left - 0.5f, top - 0.5f, right - 0.5f, bottom - 0.5f, outW, d0 + i, d1 + i, d2 + i);
                    i += x; u += sx * x; v += ky * x;
                }
                for (; x < outW; x++, i++, u += sx, v += ky)
                {
                    if (u < left - 0.5f || u >= right - 0.5f || v < top - 0.5f || v >= bottom - 0.5f) { d0[i] = a0; d1[i] = a1; d2[i] = a2; continue; }
                    // Clamp to the image (PIL's edge rule); after the clamp both are >= 0, so truncation is floor.
                    float cu = u < 0 ? 0 : u > maxU ? maxU : u;
                    float cv = v < 0 ? 0 : v > maxV ? maxV : v;
                    int x0 = (int)cu, y0 = (int)cv;
                    float fx = cu - x0, fy = cv - y0;
                    int dx = x0 < width - 1 ? 4 : 0, dy = y0 < height - 1 ? stride : 0;
                    byte* p = src + y0 * stride + x0 * 4;
                    float w11 = fx * fy, w01 = fx - w11, w10 = fy - w11, w00 = 1 - fx - fy + w11;
                    d0[i] = (p[o0] * w00 + p[dx + o0] * w01 + p[dy + o0] * w10 + p[dy + dx + o0] * w11) * m0 + a0;
                    d1[i] = (p[o1] * w00 + p[dx + o1] * w01 + p[dy + o1] * w10 + p[dy + dx + o1] * w11) * m1 + a1;
                    d2[i] = (p[o2] * w00 + p[dx + o2] * w01 + p[dy + o2] * w10 + p[dy + dx + o2] * w11) * m2 + a2;
                }
            }
        }
    }

    /// <summary>
    /// Eight output pixels at a time: positions as vectors, the four neighbours fetched with one AVX2 gather each (an RGBA
    /// pixel is one 32-bit word), channels split with shifts. Returns how many pixels of the row it did (a multiple of 8).
    /// </summary>
    unsafe int SampleRowAvx2(byte* src, int width, int height, int stride, float u, float v, float sx, float ky,
        float left, float top, float right, float bottom, int outW, float* d0, float* d1, float* d2)
    {
        int n = outW & ~7;
        if (n == 0) return 0;
        var lane = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);
        var vsx = Vector256.Create(sx * 8); var vky = Vector256.Create(ky * 8);
        var vu = Vector256.Create(u) + lane * Vector256.Create(sx);
        var vv = Vector256.Create(v) + lane * Vector256.Create(ky);
        var vl = Vector256.Create(left); var vt = Vector256.Create(top); var vr = Vector256.Create(right); var vb = Vector256.Create(bottom);
        var zero = Vector256<float>.Zero; var one = Vector256.Create(1f);
        var maxU = Vector256.Create((float)(width - 1)); var maxV = Vector256.Create((float)(height - 1));
        var lastX = Vector256.Create(width - 1); var lastY = Vector256.Create(height - 1);
        int strideWords = stride / 4;
        var vStride = Vector256.Create(strideWords);
        var mask = Vector256.Create(0xFF);
        int o0 = _sourceChannel[0] * 8, o1 = _sourceChannel[1] * 8, o2 = _sourceChannel[2] * 8;
        var m0 = Vector256.Create(_mul[0]); var m1 = Vector256.Create(_mul[1]); var m2 = Vector256.Create(_mul[2]);
        var a0 = Vector256.Create(_add[0]); var a1 = Vector256.Create(_add[1]); var a2 = Vector256.Create(_add[2]);
        int* words = (int*)src;
        for (int x = 0; x < n; x += 8, vu += vsx, vv += vky)
        {
            var inside = Avx.And(Avx.And(Avx.CompareGreaterThanOrEqual(vu, vl), Avx.CompareLessThan(vu, vr)),
                                 Avx.And(Avx.CompareGreaterThanOrEqual(vv, vt), Avx.CompareLessThan(vv, vb)));
            var cu = Avx.Min(Avx.Max(vu, zero), maxU);
            var cv = Avx.Min(Avx.Max(vv, zero), maxV);
            var x0 = Avx.ConvertToVector256Int32WithTruncation(cu);
            var y0 = Avx.ConvertToVector256Int32WithTruncation(cv);
            var fx = cu - Avx.ConvertToVector256Single(x0);
            var fy = cv - Avx.ConvertToVector256Single(y0);
            // Step to the right/lower neighbour unless already on the last column/row (the clamp).
            var dx = Avx2.CompareGreaterThan(lastX, x0) & Vector256<int>.One;
            var dy = Avx2.CompareGreaterThan(lastY, y0) & vStride;
            var i00 = Avx2.MultiplyLow(y0, vStride) + x0;
            var i01 = i00 + dx; var i10 = i00 + dy; var i11 = i10 + dx;
            var g00 = Avx2.GatherVector256(words, i00, 4); var g01 = Avx2.GatherVector256(words, i01, 4);
            var g10 = Avx2.GatherVector256(words, i10, 4); var g11 = Avx2.GatherVector256(words, i11, 4);
            var w11 = fx * fy; var w01 = fx - w11; var w10 = fy - w11; var w00 = one - fx - fy + w11;
            Avx.Store(d0 + x, Avx.BlendVariable(a0, Channel(g00, g01, g10, g11, o0, mask, w00, w01, w10, w11) * m0 + a0, inside));
            Avx.Store(d1 + x, Avx.BlendVariable(a1, Channel(g00, g01, g10, g11, o1, mask, w00, w01, w10, w11) * m1 + a1, inside));
            Avx.Store(d2 + x, Avx.BlendVariable(a2, Channel(g00, g01, g10, g11, o2, mask, w00, w01, w10, w11) * m2 + a2, inside));
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Channel(Vector256<int> g00, Vector256<int> g01, Vector256<int> g10, Vector256<int> g11, int shift, Vector256<int> mask,
        Vector256<float> w00, Vector256<float> w01, Vector256<float> w10, Vector256<float> w11)
    {
        var c00 = Avx.ConvertToVector256Single(Vector256.ShiftRightLogical(g00, shift) & mask);
        var c01 = Avx.ConvertToVector256Single(Vector256.ShiftRightLogical(g01, shift) & mask);
        var c10 = Avx.ConvertToVector256Single(Vector256.ShiftRightLogical(g10, shift) & mask);
        var c11 = Avx.ConvertToVector256Single(Vector256.ShiftRightLogical(g11, shift) & mask);
        return c00 * w00 + c01 * w01 + (c10 * w10 + c11 * w11);
    }

    SKBitmap DrawWithMipmaps(SKBitmap source, SKMatrix matrix, SKRect clip, int w, int h)
    {
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
        canvas.SetMatrix(matrix);
        canvas.ClipRect(clip); // rotated corners stay black instead of showing pixels beyond the crop
        using (var pixmap = source.PeekPixels())
        using (var image = SKImage.FromPixels(pixmap))
            canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        canvas.Restore();
        canvas.Flush();
        return _target;
    }

    /// <summary>A copy of <paramref name="source"/> shrunk so its shorter side is <paramref name="shortSide"/> (never enlarged), for the in-memory cache.</summary>
    public static SKBitmap Shrink(SKBitmap source, int shortSide)
    {
        float scale = Math.Min(1f, shortSide / (float)Math.Min(source.Width, source.Height));
        if (scale >= 1f) return source.Copy();
        int w = Math.Max(1, (int)Math.Round(source.Width * scale)), h = Math.Max(1, (int)Math.Round(source.Height * scale)), plane = w * h;
        var rented = System.Buffers.ArrayPool<float>.Shared.Rent(3 * plane);
        var rgb = rented.AsSpan(0, 3 * plane);
        AntialiasResampler.ResizeToPlanes(source.GetPixelSpan(), source.Width, source.Height, source.RowBytes, 0, 0, source.Width, source.Height, w, h, rgb);
        var result = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        var pixels = result.GetPixelSpan();
        for (int i = 0; i < plane; i++)
        {
            pixels[4 * i] = (byte)Math.Clamp(MathF.Round(rgb[i]), 0, 255);
            pixels[4 * i + 1] = (byte)Math.Clamp(MathF.Round(rgb[plane + i]), 0, 255);
            pixels[4 * i + 2] = (byte)Math.Clamp(MathF.Round(rgb[2 * plane + i]), 0, 255);
            pixels[4 * i + 3] = 255; // decoded images are opaque (alpha is composited on white)
        }
        System.Buffers.ArrayPool<float>.Shared.Return(rented);
        return result;
    }

    public void Dispose()
    {
        _canvas?.Dispose();
        _target?.Dispose();
    }
}
