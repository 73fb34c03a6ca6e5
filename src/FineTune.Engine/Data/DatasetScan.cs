using System.Collections.Concurrent;
using System.Security.Cryptography;
using SkiaSharp;

namespace FineTune.Data;

/// <param name="KeepBackground">Keep Caltech-101's `BACKGROUND_Google` clutter folder as a class (the seed drops it).</param>
/// <param name="MaxPixels">Images with more pixels are refused before decoding.</param>
/// <param name="Parallelism">Files checked at once.</param>
public sealed record ScanOptions(bool KeepBackground = false, long MaxPixels = ImageDecoder.DefaultMaxPixels, int Parallelism = 0)
{
    public const string BackgroundClass = "BACKGROUND_Google";
}

/// <summary>One usable image. RelativePath uses '/' whatever the OS, so manifests travel between machines.</summary>
public sealed record ImageEntry(string RelativePath, int ClassIndex, string Sha256, long Bytes, int Width, int Height, bool Grey);

/// <summary>A file left out of the dataset, and why.</summary>
public sealed record ImageProblem(string RelativePath, string Reason);

/// <summary>
/// A folder-per-class image set, checked file by file: every file is read, hashed, recognised by content and
/// decoded (JPEGs at 1/8 scale: still every byte of the entropy stream, so truncation shows, at a fraction of the cost).
/// Unusable files are kept out and listed, so they can never stop an epoch.
/// </summary>
public sealed class DatasetScan
{
    public required string Root { get; init; }
    /// <summary>Class names in ordinal order; the index is the label.</summary>
    public required IReadOnlyList<string> Classes { get; init; }
    public required IReadOnlyList<ImageEntry> Images { get; init; }
    public required IReadOnlyList<ImageProblem> Problems { get; init; }
    public required IReadOnlyList<string> ExcludedFolders { get; init; }
    /// <summary>Files passed over inside the class folders because they or a folder above them are hidden (a name starting with '.').</summary>
    public int HiddenFiles { get; init; }

    public static DatasetScan Run(string root, ScanOptions? options = null)
    {
        options ??= new ScanOptions();
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Data folder '{root}' not found; pass --data_dir with a folder holding one sub-folder per class (or run `finetune data prepare`).");
        var excluded = new List<string>();
        var classes = ClassFolders(root, options, excluded);
        if (classes.Count == 0)
            throw new DatasetException($"Data folder '{root}' has no class folders; put each class's images in its own sub-folder ({root}/<class>/<image>).");

        var files = new List<(string Relative, int Class)>();
        int hidden = 0;
        var walk = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        for (int c = 0; c < classes.Count; c++)
        {
            var classDir = Path.Combine(root, classes[c]);
            foreach (var f in Directory.EnumerateFiles(classDir, "*", walk))
            {
                var relative = Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/');
                // Dot-files and dot-folders are the system's, not the user's photos: macOS's .DS_Store and ._IMG_0001.jpg
                // (AppleDouble metadata named like the photo), thumbnail folders (the same photos again, which would leak
                // between the splits). Passed over and counted, as hidden class folders are.
                if (relative.Split('/').Any(part => part.StartsWith('.'))) { hidden++; continue; }
                files.Add((relative, c));
            }
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Relative, b.Relative));

        var images = new ConcurrentBag<ImageEntry>();
        var problems = new ConcurrentBag<ImageProblem>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism > 0 ? options.Parallelism : Environment.ProcessorCount };
        Parallel.ForEach(files, parallel, file =>
        {
            var full = Path.Combine(root, file.Relative);
            try { images.Add(Check(full, file.Relative, file.Class, options.MaxPixels)); }
            catch (ImageDecodeException e) { problems.Add(new ImageProblem(file.Relative, e.Message)); }
            catch (IOException e) { problems.Add(new ImageProblem(file.Relative, $"unreadable: {e.Message}")); }
            catch (UnauthorizedAccessException e) { problems.Add(new ImageProblem(file.Relative, $"unreadable: {e.Message}")); }
        });

        return new DatasetScan
        {
            Root = root,
            Classes = classes,
            Images = images.OrderBy(i => i.RelativePath, StringComparer.Ordinal).ToList(),
            Problems = problems.OrderBy(p => p.RelativePath, StringComparer.Ordinal).ToList(),
            ExcludedFolders = excluded,
            HiddenFiles = hidden,
        };
    }

    /// <summary>
    /// The class folders of <paramref name="root"/> in ordinal order: its sub-folders but hidden ones and (unless kept)
    /// Caltech-101's background folder, which go to <paramref name="excluded"/>.
    /// </summary>
    public static List<string> ClassFolders(string root, ScanOptions options, List<string>? excluded = null)
    {
        var classes = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
        {
            if ((!options.KeepBackground && dir == ScanOptions.BackgroundClass) || dir.StartsWith('.')) excluded?.Add(dir);
            else classes.Add(dir);
        }
        return classes;
    }

    static ImageEntry Check(string fullPath, string relative, int classIndex, long maxPixels)
    {
        var bytes = File.ReadAllBytes(fullPath);
        using var data = SKData.CreateCopy(bytes);
        using var codec = ImageDecoder.OpenCodec(data, bytes, maxPixels);
        using (ImageDecoder.DecodeRgba(codec, 0.125f)) { }
        var (width, height) = ImageDecoder.ShownSize(codec);
        return new ImageEntry(relative, classIndex, Sha256Hex(bytes), bytes.LongLength, width, height, codec.Info.ColorType == SKColorType.Gray8);
    }

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Usable images per class, indexed by label.</summary>
    public int[] CountsPerClass()
    {
        var counts = new int[Classes.Count];
        foreach (var i in Images) counts[i.ClassIndex]++;
        return counts;
    }

    /// <summary>Images per class counting byte-for-byte copies of one photo once: what a split can spread over train, val and test.</summary>
    public int[] DistinctPerClass()
    {
        var counts = new int[Classes.Count];
        foreach (var g in Images.GroupBy(i => (i.ClassIndex, i.Sha256))) counts[g.Key.ClassIndex]++;
        return counts;
    }

    /// <summary>Files that are byte-for-byte copies of another in the same class (a split keeps each with its original).</summary>
    public int CopiesWithinClasses() => Images.Count - DistinctPerClass().Sum();

    /// <summary>Photos whose very bytes are in more than one class (each group in ordinal order): labels that contradict each other.</summary>
    public IReadOnlyList<IReadOnlyList<ImageEntry>> InSeveralClasses() =>
        Images.GroupBy(i => i.Sha256).Where(g => g.Select(i => i.ClassIndex).Distinct().Count() > 1)
            .Select(g => (IReadOnlyList<ImageEntry>)g.OrderBy(i => i.RelativePath, StringComparer.Ordinal).ToList())
            .OrderBy(g => g[0].RelativePath, StringComparer.Ordinal).ToList();

    /// <summary>Classes with no usable image: a dataset with one cannot be trained on.</summary>
    public IReadOnlyList<string> EmptyClasses()
    {
        var counts = CountsPerClass();
        return Classes.Where((_, c) => counts[c] == 0).ToList();
    }

    public DataReport Report() => new(this);
}
