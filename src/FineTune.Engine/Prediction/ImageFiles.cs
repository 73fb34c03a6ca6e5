using FineTune.Data;

namespace FineTune.Prediction;

/// <summary>An image file to classify, and the name it has in predictions.csv and the gallery.</summary>
public sealed record ImageToClassify(string File, string Name);

/// <summary>Which files of the paths given to `finetune predict` are classified, and the names they are written under.</summary>
public static class ImageFiles
{
    // Files named like images are taken whatever they hold (an unreadable one gets an error row, not silence);
    // files that start like an image are taken whatever their name; anything else (notes, CSVs) is passed over.
    // Formats FineTune cannot decode (an iPhone's HEIC, AVIF, TIFF) are taken too: their error row says how to convert them.
    static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase)
        { ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".heic", ".heif", ".avif", ".tif", ".tiff" };

    /// <summary>
    /// The files to classify, in the order given; a folder contributes its image files (recursively), sorted. With one
    /// folder, names are relative to it (with '/'); with several paths, names are the paths as given, so none collide.
    /// </summary>
    /// <exception cref="FileNotFoundException">A path is neither a file nor a folder, or a folder holds no image.</exception>
    public static List<ImageToClassify> From(IReadOnlyList<string> paths)
    {
        bool relative = paths.Count == 1 && Directory.Exists(paths[0]);
        var files = new List<ImageToClassify>();
        foreach (var path in paths)
        {
            if (File.Exists(path)) { files.Add(new(path, path)); continue; }
            if (!Directory.Exists(path))
                throw new FileNotFoundException($"'{path}' is neither an image file nor a folder: pass the path of an image or of a folder of images.");
            files.AddRange(InFolder(path).Select(f => relative ? f : new(f.File, f.File)));
        }
        return files;
    }

    /// <summary>The image files under <paramref name="folder"/>, sorted, each named by its path relative to the folder.</summary>
    public static List<ImageToClassify> InFolder(string folder)
    {
        var found = Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
            .Where(LooksLikeImage)
            .Order(StringComparer.Ordinal)
            .Select(f => new ImageToClassify(f, Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/')))
            .ToList();
        return found.Count > 0 ? found
            : throw new FileNotFoundException($"Folder '{folder}' holds no image files ({FolderLayout.ImageKinds}): pass a folder of images.");
    }

    static bool LooksLikeImage(string path)
    {
        if (Extensions.Contains(Path.GetExtension(path))) return true;
        try { return ImageFormatSniffer.Sniff(path) != ImageFormat.Unknown; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
