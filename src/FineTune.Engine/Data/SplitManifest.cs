using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTune.Data;

/// <summary>One image of the split: where it is (relative to the data folder), its class, its split, and its content hash.</summary>
public sealed record ManifestEntry(string Path, string Class, Split Split, string Sha256);

/// <summary>
/// The train/val/test assignment of an experiment, written once into its folder and reused by test and predict,
/// so the test set never leaks into training even when images are later added to the data folder.
/// Stratified: each class is shuffled on its own (SplitMix64, seeded by seed and class name) and cut by the ratios.
/// Byte-for-byte copies of a photo within a class go to one split together, so a test photo is never also a training
/// photo (a folder without copies, such as Caltech-101, splits exactly as if this rule did not exist).
/// </summary>
public sealed record SplitManifest(int Version, ulong Seed, SplitRatios Ratios, IReadOnlyList<string> Classes, IReadOnlyList<ManifestEntry> Entries)
{
    public const string FileName = "split.json";
    public const int CurrentVersion = 1;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static SplitManifest Create(DatasetScan scan, SplitRatios ratios, ulong seed)
    {
        ratios.Validate();
        EnsureSplittable(scan, ratios);
        var byClass = scan.Images.GroupBy(i => i.ClassIndex).ToDictionary(g => g.Key, g => g.ToList());
        var entries = new List<ManifestEntry>();
        for (int c = 0; c < scan.Classes.Count; c++)
        {
            var name = scan.Classes[c];
            var images = byClass[c];
            // Ordinal order first, so the shuffle does not depend on how the disk listed the files.
            var order = images.OrderBy(i => i.RelativePath, StringComparer.Ordinal).ToList();
            new SplitMix64(SplitMix64.Mix((long)seed, SplitMix64.StableHash(name))).Shuffle(order);
            // The ratios cut the distinct photos, in the order each first appears; a copy takes its photo's split.
            var counts = ratios.Counts(order.Select(i => i.Sha256).Distinct().Count())!.Value;
            var splitOf = new Dictionary<string, Split>();
            foreach (var image in order)
            {
                if (!splitOf.TryGetValue(image.Sha256, out var split))
                {
                    int k = splitOf.Count;
                    split = k < counts.Train ? Split.Train : k < counts.Train + counts.Val ? Split.Val : Split.Test;
                    splitOf[image.Sha256] = split;
                }
                entries.Add(new ManifestEntry(image.RelativePath, name, split, image.Sha256));
            }
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new SplitManifest(CurrentVersion, seed, ratios, scan.Classes.ToList(), entries);
    }

    /// <summary>
    /// One message for a scan that cannot be split: no image at all (saying which files are read), or the classes with
    /// fewer images than the ratios need (each with its count, and the least that works, from the ratios).
    /// </summary>
    static void EnsureSplittable(DatasetScan scan, SplitRatios ratios)
    {
        var verify = scan.Problems.Count > 0 ? $"; `finetune data verify --data_dir {scan.Root}` says why each file was left out" : "";
        if (scan.Images.Count == 0)
            throw new DatasetException(scan.Problems.Count == 0
                ? $"Data folder '{scan.Root}' has no image in its class folders ({string.Join(", ", scan.Classes.Take(6))}{(scan.Classes.Count > 6 ? ", ..." : "")}): put each class's images in its folder; FineTune reads {FolderLayout.ImageKinds}."
                : $"Data folder '{scan.Root}' has no readable image among its {scan.Problems.Count} file(s) ({scan.Problems[0].RelativePath}: {scan.Problems[0].Reason}): FineTune reads {FolderLayout.ImageKinds}{verify}.");
        int least = ratios.MinimumClassSize();
        var sizes = scan.DistinctPerClass();
        var all = scan.CountsPerClass();
        var small = Enumerable.Range(0, scan.Classes.Count).Where(c => sizes[c] < least).ToList();
        if (small.Count == 0) return;
        string Usable(int c) => (sizes[c] == 0 ? "no usable image" : $"{sizes[c]} usable image{(sizes[c] == 1 ? "" : "s")}")
            + (all[c] > sizes[c] ? $" ({all[c] - sizes[c]} more are copies of these, which count once)" : "");
        var rule = $"too few to split into train/val/test {ratios}: each class needs at least {least} images to get at least one image in each split";
        if (small.Count == 1)
        {
            var name = scan.Classes[small[0]];
            throw new DatasetException($"Class '{name}' in '{scan.Root}' has {Usable(small[0])}, {rule}; add images to '{System.IO.Path.Combine(scan.Root, name)}' or remove that folder{verify}.");
        }
        var named = string.Join(", ", small.Take(10).Select(c => $"'{scan.Classes[c]}' ({Usable(c)})")) + (small.Count > 10 ? $", and {small.Count - 10} more" : "");
        throw new DatasetException($"Classes {named} in '{scan.Root}' have {rule}; add images to their folders or remove them{verify}.");
    }

    /// <summary>
    /// What train, test and predict call: the experiment's split if it has one (checked against the data folder and the
    /// configured seed and ratios), else a fresh one from a scan of <paramref name="dataRoot"/>, saved into the experiment folder.
    /// </summary>
    public static SplitManifest LoadOrCreate(string experimentDir, string dataRoot, SplitRatios ratios, ulong seed, ScanOptions? scan = null)
    {
        var (manifest, scanned) = Prepare(experimentDir, dataRoot, ratios, seed, scan);
        if (scanned is not null) manifest.Save(experimentDir);
        return manifest;
    }

    /// <summary>
    /// As <see cref="LoadOrCreate"/>, writing nothing: a fresh split comes back with its scan (the files it left out) for the
    /// caller to save once the rest of the config is checked. The folder's layout is checked (<see cref="FolderLayout"/>)
    /// before any file of it is read.
    /// </summary>
    public static (SplitManifest Manifest, DatasetScan? Scan) Prepare(string experimentDir, string dataRoot, SplitRatios ratios, ulong seed, ScanOptions? scan = null)
    {
        ratios.Validate();
        if (File.Exists(System.IO.Path.Combine(experimentDir, FileName)))
        {
            var existing = Load(experimentDir);
            if (existing.Seed != seed || existing.Ratios != ratios)
                throw new DatasetException($"Experiment folder '{experimentDir}' already holds a split made with seed {existing.Seed} and train/val/test {existing.Ratios}, but the config asks for seed {seed} and {ratios}; use a new experiment name, or delete {FileName} to re-split.");
            existing.Verify(dataRoot);
            return (existing, null);
        }
        FolderLayout.Check(dataRoot, scan);
        var fresh = DatasetScan.Run(dataRoot, scan);
        return (Create(fresh, ratios, seed), fresh);
    }

    public IEnumerable<ManifestEntry> Of(Split split) => Entries.Where(e => e.Split == split);

    /// <summary>Writes `split.json` into the folder atomically (temp file, then rename): a crash never leaves half a manifest.</summary>
    public string Save(string folder)
    {
        var path = System.IO.Path.Combine(folder, FileName);
        FineTune.IO.AtomicWrite.Text(path, JsonSerializer.Serialize(this, Json));
        return path;
    }

    /// <summary>Loads `split.json` from a folder (or the file itself).</summary>
    public static SplitManifest Load(string folderOrFile)
    {
        var path = Directory.Exists(folderOrFile) ? System.IO.Path.Combine(folderOrFile, FileName) : folderOrFile;
        if (!File.Exists(path))
            throw new FileNotFoundException($"Split manifest '{path}' not found; train first (it writes the split), or point at the experiment folder that holds {FileName}.");
        SplitManifest? m;
        try { m = JsonSerializer.Deserialize<SplitManifest>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"Split manifest '{path}' is not valid JSON ({e.Message}); delete it to make a new split, or restore it."); }
        if (m is null || m.Version != CurrentVersion || m.Entries is null || m.Classes is null)
            throw new InvalidDataException($"Split manifest '{path}' is not a version {CurrentVersion} FineTune manifest; delete it to make a new split.");
        return m;
    }

    /// <summary>
    /// Checks that every file of the manifest is still in <paramref name="dataRoot"/> with the same content.
    /// Files added since are fine (they are simply not part of this experiment).
    /// </summary>
    public void Verify(string dataRoot)
    {
        var changed = new ConcurrentBag<string>();
        Parallel.ForEach(Entries, e =>
        {
            var full = System.IO.Path.Combine(dataRoot, e.Path);
            if (!File.Exists(full)) { changed.Add($"{e.Path} (missing)"); return; }
            if (DatasetScan.Sha256Hex(File.ReadAllBytes(full)) != e.Sha256) changed.Add($"{e.Path} (content changed)");
        });
        if (changed.IsEmpty) return;
        var list = changed.Order(StringComparer.Ordinal).ToList();
        var shown = string.Join(", ", list.Take(10)) + (list.Count > 10 ? $", and {list.Count - 10} more" : "");
        throw new ManifestMismatchException(
            $"The data folder '{dataRoot}' no longer matches the split manifest: {list.Count} file(s) changed: {shown}. Restore them, or start a new experiment to make a new split.", list);
    }
}
