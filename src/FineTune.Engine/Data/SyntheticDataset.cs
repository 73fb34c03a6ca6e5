using SkiaSharp;

namespace FineTune.Data;

/// <summary>
/// `finetune data synth`: a small folder-per-class dataset drawn on the fly. Class c has its own shape and hue, drawn at
/// a random place, size and angle on a random pale background with some clutter; so classes are easy to tell apart but
/// not trivially pixel-identical. Files alternate JPEG and PNG, every fifth is grey, and names carry no extension rule.
/// </summary>
public static class SyntheticDataset
{
    static readonly string[] Shapes = ["circle", "square", "triangle", "ring", "cross", "stripes", "star", "diamond"];

    public static string ClassName(int c, int classes) => $"{Shapes[c % Shapes.Length]}_{c * 360 / classes:000}";

    /// <summary>Writes the dataset into a temporary folder beside <paramref name="outDir"/>, then moves it into place.</summary>
    public static int Write(string outDir, int classes, int perClass, ulong seed = 42, int size = 96)
    {
        if (classes < 2 || classes > 1000) throw new DatasetException($"--classes {classes} is out of range; use 2..1000.");
        if (perClass < 1 || perClass > 100_000) throw new DatasetException($"--per-class {perClass} is out of range; use 1..100000 (3 or more to split train/val/test).");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new DatasetException($"Output folder '{outDir}' is not empty; choose a new --out folder or delete it.");
        var full = Path.GetFullPath(outDir);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.synth-{Environment.ProcessId}");
        if (Directory.Exists(temp)) Directory.Delete(temp, true);
        try
        {
            Parallel.For(0, classes, c =>
            {
                var dir = Directory.CreateDirectory(Path.Combine(temp, ClassName(c, classes))).FullName;
                for (int i = 0; i < perClass; i++)
                {
                    var random = new SplitMix64(SplitMix64.Mix((long)seed, c, i));
                    bool grey = i % 5 == 4, png = i % 2 == 1;
                    using var bitmap = Draw(c, classes, size, ref random, grey);
                    using var data = bitmap.Encode(png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, 90);
                    File.WriteAllBytes(Path.Combine(dir, $"img_{i:0000}{(png ? ".png" : ".jpg")}"), data.ToArray());
                }
            });
            if (Directory.Exists(full)) Directory.Delete(full);
            Directory.Move(temp, full);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, true);
        }
        return classes * perClass;
    }

    static SKBitmap Draw(int c, int classes, int size, ref SplitMix64 random, bool grey)
    {
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            byte bg = (byte)(200 + random.NextInt(56));
            canvas.Clear(new SKColor(bg, (byte)(bg - random.NextInt(20)), (byte)(bg - random.NextInt(20))));
            using var clutter = new SKPaint { IsAntialias = true, StrokeWidth = 1 };
            for (int k = 0; k < 6; k++)
            {
                clutter.Color = new SKColor((byte)(150 + random.NextInt(80)), (byte)(150 + random.NextInt(80)), (byte)(150 + random.NextInt(80)));
                canvas.DrawLine((float)random.Uniform(0, size), (float)random.Uniform(0, size), (float)random.Uniform(0, size), (float)random.Uniform(0, size), clutter);
            }
            float hue = c * 360f / classes;
            using var paint = new SKPaint { IsAntialias = true, Color = SKColor.FromHsv(hue, 85, (float)random.Uniform(60, 95)), StrokeWidth = size / 16f };
            float r = (float)random.Uniform(0.22, 0.38) * size;
            float cx = (float)random.Uniform(r, size - r), cy = (float)random.Uniform(r, size - r);
            canvas.Translate(cx, cy);
            canvas.RotateDegrees((float)random.Uniform(-30, 30));
            DrawShape(canvas, c % Shapes.Length, r, paint);
        }
        if (!grey) return bitmap;
        var greyBitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Gray8, SKAlphaType.Opaque));
        bitmap.CopyTo(greyBitmap, SKColorType.Gray8);
        bitmap.Dispose();
        return greyBitmap;
    }

    static void DrawShape(SKCanvas canvas, int shape, float r, SKPaint paint)
    {
        switch (shape)
        {
            case 0: canvas.DrawCircle(0, 0, r, paint); break;
            case 1: canvas.DrawRect(-r * 0.8f, -r * 0.8f, r * 1.6f, r * 1.6f, paint); break;
            case 2: DrawPolygon(canvas, [(0, -r), (r, r * 0.8f), (-r, r * 0.8f)], paint); break;
            case 3: paint.Style = SKPaintStyle.Stroke; paint.StrokeWidth = r / 3; canvas.DrawCircle(0, 0, r * 0.8f, paint); break;
            case 4: canvas.DrawRect(-r, -r / 4, 2 * r, r / 2, paint); canvas.DrawRect(-r / 4, -r, r / 2, 2 * r, paint); break;
            case 5: for (int k = -2; k <= 2; k++) canvas.DrawRect(-r, k * r / 2.5f - r / 10, 2 * r, r / 5, paint); break;
            case 6:
                var star = new List<(float, float)>();
                for (int k = 0; k < 10; k++)
                {
                    double a = Math.PI * k / 5 - Math.PI / 2, rr = k % 2 == 0 ? r : r * 0.45;
                    star.Add(((float)(rr * Math.Cos(a)), (float)(rr * Math.Sin(a))));
                }
                DrawPolygon(canvas, star, paint);
                break;
            default: DrawPolygon(canvas, [(0, -r), (r * 0.7f, 0), (0, r), (-r * 0.7f, 0)], paint); break;
        }
    }

    static void DrawPolygon(SKCanvas canvas, IReadOnlyList<(float X, float Y)> points, SKPaint paint)
    {
        using var path = new SKPath();
        path.MoveTo(points[0].X, points[0].Y);
        foreach (var p in points.Skip(1)) path.LineTo(p.X, p.Y);
        path.Close();
        canvas.DrawPath(path, paint);
    }
}
