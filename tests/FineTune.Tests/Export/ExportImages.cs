using SkiaSharp;

namespace FineTune.Tests.Export;

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
    public static string WriteSquarePng(string path, int seed, int size)
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
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
