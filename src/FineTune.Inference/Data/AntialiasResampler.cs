using System.Buffers;

namespace FineTune.Data;

/// <summary>
/// Resizes a rectangle of an RGBA image with PIL's bilinear filter (what torchvision's Resize and RandomResizedCrop
/// use on PIL images): a triangle whose support widens with the shrink factor, so a shrink averages every source
/// pixel instead of sampling four and aliasing. Why it matters: plain bilinear sampling of a 500-pixel-wide photo
/// into 320 pixels skips detail unevenly, and the pretrained network's features (and the accuracy of a linear
/// probe on them) move by whole points. Separable: a horizontal pass into floats, then a vertical one.
/// </summary>
public static class AntialiasResampler
{
    /// <summary>For each output index: the first source index, and the normalised weights of the taps from there.</summary>
    readonly record struct Taps(int[] Start, float[][] Weights);

    /// <summary>PIL's coefficients for one axis: output i covers source [offset + i·scale, offset + (i+1)·scale), clipped to [lo, hi).</summary>
    static Taps Coefficients(float offset, float length, int outSize, int lo, int hi)
    {
        double scale = length / outSize;
        double support = Math.Max(1.0, scale); // triangle half-width in source pixels
        var start = new int[outSize];
        var weights = new float[outSize][];
        for (int i = 0; i < outSize; i++)
        {
            double center = offset + (i + 0.5) * scale;
            int first = Math.Max(lo, (int)Math.Floor(center - support));
            int last = Math.Min(hi - 1, (int)Math.Ceiling(center + support));
            if (last < first) last = first = Math.Clamp((int)center, lo, hi - 1);
            var w = new float[last - first + 1];
            double sum = 0;
            for (int k = first; k <= last; k++)
            {
                double t = Math.Max(0, 1 - Math.Abs((k + 0.5 - center) / support));
                w[k - first] = (float)t;
                sum += t;
            }
            if (sum <= 0) { w = [1f]; last = first; sum = 1; }
            for (int k = 0; k < w.Length; k++) w[k] = (float)(w[k] / sum);
            start[i] = first;
            weights[i] = w;
        }
        return new Taps(start, weights);
    }

    /// <summary>
    /// The crop (left, top, width, height in source pixels) resized to outW x outH into <paramref name="planes"/> as
    /// planar float RGB (0..255): [R plane, G plane, B plane], each outH x outW. Source pixels outside the crop are
    /// not used. The intermediate buffer is pooled: loader threads call this per image, and garbage-collector pressure
    /// from megabyte arrays makes TorchSharp's finalizers run mid-step (see the engine's DataLoader).
    /// </summary>
    public static void ResizeToPlanes(ReadOnlySpan<byte> rgba, int width, int height, int stride,
        float left, float top, float cropWidth, float cropHeight, int outW, int outH, Span<float> planes)
    {
        int x0 = Math.Clamp((int)Math.Floor(left), 0, width - 1), x1 = Math.Clamp((int)Math.Ceiling(left + cropWidth), x0 + 1, width);
        int y0 = Math.Clamp((int)Math.Floor(top), 0, height - 1), y1 = Math.Clamp((int)Math.Ceiling(top + cropHeight), y0 + 1, height);
        var h = Coefficients(left, cropWidth, outW, x0, x1);
        var v = Coefficients(top, cropHeight, outH, y0, y1);

        // Horizontal pass over the rows the vertical pass needs: rows y0..y1-1, outW pixels, RGB floats.
        int rows = y1 - y0;
        var rented = ArrayPool<float>.Shared.Rent(rows * outW * 3);
        var mid = rented.AsSpan(0, rows * outW * 3);
        for (int r = 0; r < rows; r++)
        {
            var row = rgba.Slice((y0 + r) * stride, width * 4);
            int o = r * outW * 3;
            for (int i = 0; i < outW; i++, o += 3)
            {
                float red = 0, green = 0, blue = 0;
                var w = h.Weights[i];
                int p = h.Start[i] * 4;
                for (int k = 0; k < w.Length; k++, p += 4)
                {
                    red += row[p] * w[k]; green += row[p + 1] * w[k]; blue += row[p + 2] * w[k];
                }
                mid[o] = red; mid[o + 1] = green; mid[o + 2] = blue;
            }
        }

        int plane = outW * outH;
        var result = planes[..(3 * plane)];
        for (int j = 0; j < outH; j++)
        {
            var w = v.Weights[j];
            int firstRow = v.Start[j] - y0;
            for (int i = 0; i < outW; i++)
            {
                float red = 0, green = 0, blue = 0;
                for (int k = 0; k < w.Length; k++)
                {
                    int m = ((firstRow + k) * outW + i) * 3;
                    red += mid[m] * w[k]; green += mid[m + 1] * w[k]; blue += mid[m + 2] * w[k];
                }
                int at = j * outW + i;
                result[at] = red; result[plane + at] = green; result[2 * plane + at] = blue;
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }
}
