using SkiaSharp;
using Xunit;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>Real image files made by the tests (encoded by Skia's libjpeg-turbo/libpng, or by PIL where Skia cannot write the format).</summary>
static class TestFiles
{
    /// <summary>A fresh folder for one test, removed with the test run (<see cref="TestRunFolder"/>).</summary>
    public static string TempDir(string tag) => TestRunFolder.New(tag);

    /// <summary>A solid or two-halved image: left half <paramref name="left"/>, right half <paramref name="right"/>.</summary>
    public static byte[] Encode(int width, int height, SKColor left, SKColor? right = null, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg, bool grey = false)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(left);
            if (right is { } r) using (var p = new SKPaint { Color = r }) canvas.DrawRect(width / 2f, 0, width / 2f, height, p);
        }
        if (grey)
        {
            using var g = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
            bitmap.CopyTo(g, SKColorType.Gray8);
            using var gd = g.Encode(format, 95);
            return gd.ToArray();
        }
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    public static string Write(string dir, string relative, byte[] bytes)
    {
        var path = Path.Combine(dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A folder-per-class dataset of solid-colour JPEGs: class k has <paramref name="perClass"/>[k] images.</summary>
    public static string Dataset(params int[] perClass)
    {
        var dir = TempDir("ds");
        for (int c = 0; c < perClass.Length; c++)
            for (int i = 0; i < perClass[c]; i++)
                Write(dir, $"class{c}/img{i:000}.jpg", Encode(40 + i, 30 + c, new SKColor((byte)(c * 60), (byte)(i * 7), 128)));
        return dir;
    }

    public static bool HavePil { get; } = Python("import PIL") is { ExitCode: 0 };

    public static (int ExitCode, string Output) Python(string code)
    {
        if (!File.Exists("/usr/bin/python3")) return (-1, "no /usr/bin/python3");
        var r = Processes.Run("/usr/bin/python3", ["-c", code]);
        return (r.Code, r.Out + r.Err);
    }
}

/// <summary>Image files for command-line tests: drawn scenes saved as JPEG and PNG at sizes other than the model's, so predict resizes.</summary>
static class ExportImages
{
    public static List<string> Write(string dir, int count)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        for (int i = 0; i < count; i++)
        {
            const int size = 300;
            var rgb = Weights.ParityImages.Procedural(100 + i, size);
            using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var pixels = new byte[4 * size * size];
            for (int p = 0; p < size * size; p++)
            {
                for (int c = 0; c < 3; c++) pixels[4 * p + c] = (byte)Math.Round(rgb[c * size * size + p] * 255);
                pixels[4 * p + 3] = 255;
            }
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            // A non-square subset: the stretch resize changes the aspect ratio.
            using var subset = new SKBitmap();
            bitmap.ExtractSubset(subset, SKRectI.Create(0, 0, size, 180 + 20 * i));
            var png = i % 2 == 0;
            var path = Path.Combine(dir, $"image{i}.{(png ? "png" : "jpg")}");
            using var data = subset.Encode(png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(path, data.ToArray());
            files.Add(path);
        }
        return files;
    }

    /// <summary>A drawn scene as a square PNG of <paramref name="size"/> px (lossless).</summary>
    public static string WriteSquarePng(string path, int seed, int size) => WriteSquare(path, seed, size, SKEncodedImageFormat.Png);

    /// <summary>A drawn scene as a square JPEG of <paramref name="size"/> px (well above a model's size, a loader decodes it at a reduced scale).</summary>
    public static string WriteSquareJpeg(string path, int seed, int size) => WriteSquare(path, seed, size, SKEncodedImageFormat.Jpeg);

    static string WriteSquare(string path, int seed, int size, SKEncodedImageFormat format)
    {
        var rgb = Weights.ParityImages.Procedural(seed, size);
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[4 * size * size];
        for (int p = 0; p < size * size; p++)
        {
            for (int c = 0; c < 3; c++) pixels[4 * p + c] = (byte)Math.Round(rgb[c * size * size + p] * 255);
            pixels[4 * p + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(format, format == SKEncodedImageFormat.Png ? 100 : 90);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
