using System.Formats.Tar;
using System.IO.Compression;
using SkiaSharp;

namespace FineTune.Tests.Weights;

/// <summary>Images for parity tests, as RGB floats in [0, 1], [3, size, size] row-major, quantised to bytes like decoded files.</summary>
static class ParityImages
{
    /// <summary>
    /// One JPEG from each of the first <paramref name="count"/> object classes in the Caltech-101 archive,
    /// decoded and resized with SkiaSharp (both implementations then see the same pixels).
    /// </summary>
    public static List<(string Name, float[] Rgb)> FromCaltech(string archive, int count, int size)
    {
        var images = new List<(string, float[])>();
        foreach (var (name, jpeg) in CaltechJpegs(archive, count))
        {
            using var decoded = SKBitmap.Decode(jpeg) ?? throw new InvalidDataException($"{name} in {archive} does not decode");
            using var resized = decoded.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKFilterMode.Linear));
            images.Add((name, Planar(resized.GetPixelSpan(), size)));
        }
        return images;
    }

    /// <summary>The same photographs as <see cref="FromCaltech"/>, written as they are (any size) into <paramref name="dir"/>.</summary>
    public static List<string> CaltechFiles(string archive, int count, string dir)
    {
        Directory.CreateDirectory(dir);
        return [.. CaltechJpegs(archive, count).Select(photo =>
        {
            var path = Path.Combine(dir, photo.Name.Replace('/', '_'));
            File.WriteAllBytes(path, photo.Jpeg);
            return path;
        })];
    }

    /// <summary>The encoded bytes of one JPEG from each of the first <paramref name="count"/> object classes in the Caltech-101 archive (BACKGROUND_Google left out).</summary>
    public static IEnumerable<(string Name, byte[] Jpeg)> CaltechJpegs(string archive, int count)
    {
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        string? lastFolder = null;
        for (int found = 0; found < count && tar.GetNextEntry() is { } entry;)
        {
            if (entry.DataStream is null || !entry.Name.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)) continue;
            var folder = Path.GetDirectoryName(entry.Name);
            if (folder == lastFolder || entry.Name.Contains("BACKGROUND_Google", StringComparison.Ordinal)) continue;
            lastFolder = folder;
            using var buffer = new MemoryStream();
            entry.DataStream.CopyTo(buffer);
            found++;
            yield return (entry.Name, buffer.ToArray());
        }
    }

    static float[] Planar(ReadOnlySpan<byte> rgba, int size)
    {
        int plane = size * size;
        var rgb = new float[3 * plane];
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                rgb[c * plane + i] = rgba[4 * i + c] / 255f;
        return rgb;
    }

    /// <summary>
    /// A scene drawn from <paramref name="seed"/>: sky and ground gradients split at a random horizon, smooth
    /// low-frequency texture, a few shaded objects with hard edges, and sensor-like noise. Natural-image statistics
    /// (large smooth regions, edges, every value range) without shipping a photograph.
    /// </summary>
    public static float[] Procedural(int seed, int size)
    {
        var rng = new Random(seed);
        int plane = size * size;
        var img = new float[3 * plane];
        double horizon = size * (0.3 + 0.4 * rng.NextDouble());
        var skyTop = Colour(rng, 0.3, 0.9); var skyBottom = Colour(rng, 0.5, 1.0);
        var groundNear = Colour(rng, 0.05, 0.5); var groundFar = Colour(rng, 0.2, 0.7);
        var waves = Enumerable.Range(0, 6).Select(_ => (fx: rng.NextDouble() * 0.08, fy: rng.NextDouble() * 0.08, phase: rng.NextDouble() * Math.Tau, amp: 0.02 + 0.05 * rng.NextDouble())).ToArray();
        var objects = Enumerable.Range(0, 2 + rng.Next(4)).Select(_ => (
            cx: rng.NextDouble() * size, cy: horizon + (rng.NextDouble() - 0.7) * size * 0.5,
            rx: size * (0.05 + 0.2 * rng.NextDouble()), ry: size * (0.05 + 0.2 * rng.NextDouble()),
            colour: Colour(rng, 0.0, 1.0))).ToArray();

        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double[] rgb;
                if (y < horizon) rgb = Mix(skyTop, skyBottom, y / horizon);
                else rgb = Mix(groundFar, groundNear, (y - horizon) / (size - horizon));
                double texture = waves.Sum(w => w.amp * Math.Sin(w.fx * x + w.fy * y + w.phase));
                foreach (var o in objects)
                {
                    double dx = (x - o.cx) / o.rx, dy = (y - o.cy) / o.ry, r2 = dx * dx + dy * dy;
                    if (r2 <= 1) rgb = Mix(o.colour, [0, 0, 0], 0.5 * (dx + dy + 2) / 4 * r2); // shaded towards one side
                }
                for (int c = 0; c < 3; c++)
                {
                    double noise = (rng.NextDouble() + rng.NextDouble() - 1) * 0.02;
                    double v = Math.Clamp(rgb[c] + texture + noise, 0, 1);
                    img[c * plane + y * size + x] = (float)Math.Round(v * 255) / 255f;
                }
            }
        return img;
    }

    static double[] Colour(Random rng, double low, double high) =>
        [.. Enumerable.Range(0, 3).Select(_ => low + (high - low) * rng.NextDouble())];

    static double[] Mix(double[] a, double[] b, double t) =>
        [.. a.Zip(b, (p, q) => p + (q - p) * Math.Clamp(t, 0, 1))];
}
