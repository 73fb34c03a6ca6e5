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
