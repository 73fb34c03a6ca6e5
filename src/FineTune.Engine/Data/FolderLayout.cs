namespace FineTune.Data;

/// <summary>
/// The shape of a folder-per-class data folder, checked from its folder names alone before a file is read (and before
/// `train` writes anything): at least two classes, images where the classes are and not a level deeper (a wrapping folder,
/// or a folder already split into train/val/test, which would train a classifier of the parts), and no two class names
/// that differ only by case. Each refusal is a <see cref="DatasetException"/> naming the folder and the fix.
/// </summary>
public static class FolderLayout
{
    /// <summary>The files the scan reads, recognised by their content whatever their name: said wherever no image was found.</summary>
    public const string ImageKinds = "JPEG, PNG, GIF, BMP or WebP files (.jpg, .jpeg, .png, .gif, .bmp, .webp; recognised by content, whatever the name)";

    public static void Check(string root, ScanOptions? options = null)
    {
        var classes = DatasetScan.ClassFolders(root, options ?? new ScanOptions());
        if (classes.Count == 0) return; // the scan says so, naming the layout it expects
        var inside = classes.ToDictionary(c => c, c => Visible(Path.Combine(root, c)));
        // Every class folder holds folders and no file: the images are one level deeper than the classes.
        if (inside.Values.All(v => v.Files == 0 && v.Folders.Count > 0))
        {
            var deeper = inside.Values.SelectMany(v => v.Folders).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
            if (classes.Count == 1)
                throw new DatasetException(
                    $"Data folder '{root}' holds its images one level deeper than expected: its only folder, '{classes[0]}', holds the class folders ({Names(deeper)}); " +
                    $"set data.data_dir to '{Path.Combine(root, classes[0])}'.");
            bool shared = deeper.Any(d => inside.Values.Count(v => v.Folders.Contains(d, StringComparer.OrdinalIgnoreCase)) > 1);
            if (shared)
            {
                var part = classes.FirstOrDefault(c => c.StartsWith("train", StringComparison.OrdinalIgnoreCase)) ?? classes[0];
                throw new DatasetException(
                    $"Data folder '{root}' is already split into {Quoted(classes)}, each holding class folders ({Names(deeper)}), so FineTune would learn the parts instead of the classes: " +
                    $"set data.data_dir to '{Path.Combine(root, part)}' (FineTune splits it into train/val/test itself), or merge the parts into one folder per class.");
            }
        }
        if (classes.Count == 1)
            throw new DatasetException(
                $"Data folder '{root}' has one class folder, '{classes[0]}', but a classifier needs at least 2 classes: add a folder of images for each other class ({root}/<class>/<image>).");
        var clash = classes.GroupBy(c => c.ToUpperInvariant()).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new DatasetException(
                $"Class folders {Quoted(clash.ToList())} in '{root}' differ only by case, so they would be one folder on Windows and macOS and two look-alike classes here: " +
                "merge them into one folder, or rename one.");
    }

    /// <summary>Files and folders directly in <paramref name="folder"/>, hidden ones (`.DS_Store`, `.git`) not counted.</summary>
    static (int Files, List<string> Folders) Visible(string folder)
    {
        static bool Shown(string path) => !Path.GetFileName(path).StartsWith('.');
        return (Directory.EnumerateFiles(folder).Count(Shown),
                Directory.EnumerateDirectories(folder).Where(Shown).Select(Path.GetFileName).OfType<string>().ToList());
    }

    static string Names(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(6)) + (names.Count > 6 ? $", and {names.Count - 6} more" : "");

    static string Quoted(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(names.Count - 1).Select(n => $"'{n}'")) + $" and '{names[^1]}'";
}
