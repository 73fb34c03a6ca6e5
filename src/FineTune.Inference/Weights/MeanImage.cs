namespace FineTune.Weights;

/// <summary>
/// A per-pixel mean, [3, Height, Width] row-major in the model's channel order and pixel scale, for weights trained
/// with one (the bundled CNTK ResNet-18 subtracts a 224x224 ImageNet mean image, not three channel means).
/// </summary>
public sealed record MeanImage(int Height, int Width, float[] Values)
{
    /// <summary>The average of each channel: the closest per-channel mean.</summary>
    public float[] ChannelMeans()
    {
        int plane = Height * Width;
        return [.. Enumerable.Range(0, 3).Select(c => (float)Values.AsSpan(c * plane, plane).ToArray().Average())];
    }

    /// <summary>
    /// The mean image at another size, bilinearly resampled with half-pixel centres (torch's
    /// interpolate(align_corners=False)), so pipelines that train at 160 px subtract the same picture scaled.
    /// Returns <see cref="Values"/> itself at the native size.
    /// </summary>
    public float[] ResizedTo(int height, int width)
    {
        if (height == Height && width == Width) return Values;
        var result = new float[3 * height * width];
        var (y0, y1, wy) = Taps(Height, height);
        var (x0, x1, wx) = Taps(Width, width);
        for (int c = 0; c < 3; c++)
        {
            var src = Values.AsSpan(c * Height * Width, Height * Width);
            var dst = result.AsSpan(c * height * width, height * width);
            for (int i = 0; i < height; i++)
            {
                var top = src.Slice(y0[i] * Width, Width);
                var bottom = src.Slice(y1[i] * Width, Width);
                for (int j = 0; j < width; j++)
                {
                    float t = top[x0[j]] + (top[x1[j]] - top[x0[j]]) * wx[j];
                    float b = bottom[x0[j]] + (bottom[x1[j]] - bottom[x0[j]]) * wx[j];
                    dst[i * width + j] = t + (b - t) * wy[i];
                }
            }
        }
        return result;
    }

    static (int[] Lower, int[] Upper, float[] Weight) Taps(int from, int to)
    {
        var lower = new int[to];
        var upper = new int[to];
        var weight = new float[to];
        double scale = (double)from / to;
        for (int i = 0; i < to; i++)
        {
            double src = Math.Max(0, (i + 0.5) * scale - 0.5);
            int l = Math.Min((int)src, from - 1);
            lower[i] = l;
            upper[i] = Math.Min(l + 1, from - 1);
            weight[i] = (float)(src - l);
        }
        return (lower, upper, weight);
    }
}
