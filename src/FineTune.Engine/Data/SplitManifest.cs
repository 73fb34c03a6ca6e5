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
        var byClass = scan.Images.GroupBy(i => i.ClassIndex).ToDictionary(g => g.Key, g => g.ToList());
        var entries = new List<ManifestEntry>();
        for (int c = 0; c < scan.Classes.Count; c++)
        {
            var name = scan.Classes[c];
            var images = byClass.GetValueOrDefault(c) ?? [];
            if (images.Count == 0)
                throw new DatasetException($"Class '{name}' has no usable images; every class folder needs images (add some, or remove the folder). Run `finetune data verify` for the report.");
            var counts = ratios.Counts(images.Count)
                ?? throw new DatasetException($"Class '{name}' has {images.Count} usable image(s), too few for train/val/test {ratios}: every class needs at least one image in each split (at least 3 images); add images or remove the class.");
            // Ordinal order first, so the shuffle does not depend on how the disk listed the files.
            var order = images.OrderBy(i => i.RelativePath, StringComparer.Ordinal).ToList();
            new SplitMix64(SplitMix64.Mix((long)seed, SplitMix64.StableHash(name))).Shuffle(order);
            for (int k = 0; k < order.Count; k++)
            {
                var split = k < counts.Train ? Split.Train : k < counts.Train + counts.Val ? Split.Val : Split.Test;
                entries.Add(new ManifestEntry(order[k].RelativePath, name, split, order[k].Sha256));
            }
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new SplitManifest(CurrentVersion, seed, ratios, scan.Classes.ToList(), entries);
    }

    /// <summary>
    /// What train, test and predict call: the experiment's split if it has one (checked against the data folder and the
    /// configured seed and ratios), else a fresh one from a scan of <paramref name="dataRoot"/>, saved into the experiment folder.
    /// </summary>
    public static SplitManifest LoadOrCreate(string experimentDir, string dataRoot, SplitRatios ratios, ulong seed, ScanOptions? scan = null)
    {
        ratios.Validate();
        if (File.Exists(System.IO.Path.Combine(experimentDir, FileName)))
        {
            var existing = Load(experimentDir);
            if (existing.Seed != seed || existing.Ratios != ratios)
                throw new DatasetException($"Experiment folder '{experimentDir}' already holds a split made with seed {existing.Seed} and train/val/test {existing.Ratios}, but the config asks for seed {seed} and {ratios}; use a new experiment name, or delete {FileName} to re-split.");
            existing.Verify(dataRoot);
            return existing;
        }
        var created = Create(DatasetScan.Run(dataRoot, scan), ratios, seed);
        created.Save(experimentDir);
        return created;
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
