using System.Diagnostics;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>Real image files made by the tests (encoded by Skia's libjpeg-turbo/libpng, or by PIL where Skia cannot write the format).</summary>
static class TestFiles
{
    /// <summary>All folders of this test process live under one root, named by the process id.</summary>
    static readonly string Root = Path.Combine(Path.GetTempPath(), $"finetune-tests-{Environment.ProcessId}");

    static TestFiles()
    {
        // The test host may be killed before ProcessExit finishes, so each run also removes the roots of runs that are gone.
        foreach (var old in Directory.EnumerateDirectories(Path.GetTempPath(), "finetune-tests-*"))
            if (int.TryParse(Path.GetFileName(old)["finetune-tests-".Length..], out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                try { Directory.Delete(old, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }

    /// <summary>A fresh folder for one test, removed with its run's root.</summary>
    public static string TempDir(string tag)
    {
        var dir = Path.Combine(Root, $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

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
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(code);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}

/// <summary>A test that needs PIL (python3-pil) to make its fixture: reported SKIPPED with the reason when it is absent.</summary>
public sealed class PilFactAttribute : FactAttribute
{
    public PilFactAttribute()
    {
        if (!TestFiles.HavePil) Skip = "needs /usr/bin/python3 with PIL (apt-get install python3-pil) to write CMYK/paletted/16-bit fixtures";
    }
}

/// <summary>A test on the real Caltech-101 archive: opt-in through FINETUNE_CALTECH_ARCHIVE (CI sets it when the archive is present).</summary>
public sealed class CaltechFactAttribute : FactAttribute
{
    public static string? Archive => Environment.GetEnvironmentVariable("FINETUNE_CALTECH_ARCHIVE");

    public CaltechFactAttribute()
    {
        if (string.IsNullOrEmpty(Archive)) Skip = "set FINETUNE_CALTECH_ARCHIVE to 101_ObjectCategories.tar.gz to run the real Caltech-101 tests";
        else if (!File.Exists(Archive)) Skip = $"FINETUNE_CALTECH_ARCHIVE points at '{Archive}', which does not exist";
    }
}
