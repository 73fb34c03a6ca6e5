using System.Security.Cryptography;
using FineTune.Config;
using FineTune.Data;
using FineTune.Weights;

namespace FineTune.Data;

/// <summary>
/// An image folder as training data: the experiment's split (split.json in its checkpoint folder, made on
/// first use and reused after), the seed's train augmentation and eval resize, and the parallel loader.
/// </summary>
public static class FolderTrainingData
{
    /// <summary>
    /// The experiment's split, checked against the config, with nothing written: train calls this before it makes any
    /// output folder, so a data folder it refuses (missing, <see cref="FolderLayout"/>, class sizes, num_classes) leaves nothing behind.
    /// </summary>
    public static PreparedSplit Prepare(FineTuneConfig config)
    {
        EnsureDatasetPresent(config);
        var d = config.Data;
        var (manifest, scan) = SplitManifest.Prepare(config.Experiment.RunCheckpointDir, d.DataDir,
            new SplitRatios(d.TrainSize, d.ValSize, d.TestSize), (ulong)d.Seed);
        if (manifest.Classes.Count != config.Model.NumClasses)
            throw new DatasetException(
                $"'{d.DataDir}' has {manifest.Classes.Count} classes but model.num_classes in {config.Source} is {config.Model.NumClasses}: set num_classes to {manifest.Classes.Count}.");
        return new PreparedSplit(manifest, scan);
    }

    /// <summary>A missing dataset is the commonest first-run error: say where it was looked for and how to get it.</summary>
    public static void EnsureDatasetPresent(FineTuneConfig config)
    {
        var dir = config.Data.DataDir;
        if (!Directory.Exists(dir) || !Directory.EnumerateDirectories(dir).Any())
            throw new DatasetNotFoundException(
                $"Dataset folder '{Path.GetFullPath(dir)}' (data.data_dir in {config.Source}) {(Directory.Exists(dir) ? "has no class subfolders" : "does not exist")}: " +
                "run `finetune data prepare` to unpack Caltech-101 there, or point data.data_dir at a folder with one subfolder of images per class.");
    }

    /// <param name="split">From <see cref="Prepare"/>; prepared here when null. A fresh split is saved into the experiment folder.</param>
    public static TrainingData Open(FineTuneConfig config, Preprocessing preprocessing, int rank = 0, int worldSize = 1, PreparedSplit? split = null)
    {
        var d = config.Data;
        split ??= Prepare(config);
        var manifest = split.Manifest;
        if (split.Scan is not null) manifest.Save(config.Experiment.RunCheckpointDir);

        int size = d.TrainSizeFor(preprocessing.InputSize);
        var a = d.Augmentation;
        var train = new TrainTransform(size, a.ScaleMin, a.ScaleMax, a.RatioMin, a.RatioMax, a.FlipProbability, a.RotationDegrees)
        {
            Schedule = d.SizeScheduleFor(preprocessing.InputSize, config.Training.NumEpochs),
        };
        var eval = EvalTransformFor(config, d.EvalSizeFor(preprocessing.InputSize));
        var options = new LoaderOptions(d.BatchSize, Math.Max(1, d.NumWorkers), Shuffle: true, DropLast: false, Seed: (ulong)d.Seed,
            CacheImages: d.CacheImages, Rank: rank, WorldSize: worldSize, ReplaceUnreadable: true);

        var trainLoader = new DataLoader(ImageDataset.FromManifest(manifest, d.DataDir, Split.Train), train, preprocessing, options);
        // Validation shards are exact (no padding): the trainer sums loss and hits over ranks, so the
        // accuracy is that of the whole split, the same number on every rank.
        var valLoader = new DataLoader(ImageDataset.FromManifest(manifest, d.DataDir, Split.Val), eval, preprocessing,
            options with { Shuffle = false, PadShards = false, CacheImages = false, ReplaceUnreadable = false }); // a cached copy is resized twice: decode per epoch, exactly as test does
        var probeLoader = new DataLoader(ImageDataset.FromManifest(manifest, d.DataDir, Split.Train), eval, preprocessing,
            options with { Shuffle = false, CacheImages = false }); // padded shards: every rank takes as many probe steps
        return new TrainingData(new LoaderSource(trainLoader), new LoaderSource(valLoader), manifest.Classes, ManifestHash(config.Experiment.RunCheckpointDir))
        {
            TrainUnaugmented = new LoaderSource(probeLoader),
        };
    }

    /// <summary>The evaluation transform a config asks for (also what `finetune test` uses).</summary>
    public static EvalTransform EvalTransformFor(FineTuneConfig config, int size) =>
        new(size, config.Data.Augmentation.EvalResize == EvalResize.CenterCrop ? ResizeMode.CenterCrop : ResizeMode.Stretch);

    /// <summary>SHA-256 of the experiment's split.json: what a checkpoint records to tie itself to its split.</summary>
    public static string ManifestHash(string experimentDir) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(experimentDir, SplitManifest.FileName))));

    /// <summary>The loader seen through the trainer's interface; batches pass straight through (the trainer disposes them).</summary>
    sealed class LoaderSource(DataLoader loader) : IBatchSource
    {
        public int ImageCount => loader.Dataset.Count;
        public int BatchCount => loader.BatchesPerEpoch();
        public IReadOnlyCollection<ImageProblem> Problems => loader.Problems;
        public string? CacheNote => loader.CacheNote;
        public IReadOnlyList<int[]>? BatchIndices(int epoch) => loader.EpochBatches(epoch);

        public IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0)
        {
            int b = 0;
            foreach (var batch in loader.Epoch(epoch))
            {
                if (b++ < skipBatches) { batch.Dispose(); continue; }
                yield return batch;
            }
        }

        public void Dispose() => loader.Dispose();
    }
}

/// <summary>An experiment's split before training: <paramref name="Scan"/> is set when it is new (made now, not yet saved).</summary>
public sealed record PreparedSplit(SplitManifest Manifest, DatasetScan? Scan)
{
    /// <summary>Lines shown before training listed beyond this many are summed up, pointing at `data verify`.</summary>
    public const int ListedProblems = 20;

    /// <summary>
    /// What the new split's scan found worth a look, to be shown once (a split that already existed names nothing, its
    /// files having been named when it was made): one line per file left out (an unreadable or non-image file), copies
    /// of a photo kept in one split, and photos filed in more than one class.
    /// </summary>
    public IEnumerable<string> Notes()
    {
        if (Scan is null) yield break;
        var verify = $"`finetune data verify --data_dir {Scan.Root}` lists them all";
        foreach (var p in Scan.Problems.Take(ListedProblems))
            yield return $"Unreadable image {p.RelativePath} ({p.Reason}): left out of the split; fix or remove the file.";
        if (Scan.Problems.Count > ListedProblems)
            yield return $"... and {Scan.Problems.Count - ListedProblems} more unreadable files left out; {verify}.";
        int copies = Scan.CopiesWithinClasses();
        if (copies > 0)
            yield return $"Copies: {copies} photo{(copies == 1 ? " is a" : "s are")} byte-for-byte cop{(copies == 1 ? "y" : "ies")} of another in the same class; each copy is in the same split as its original, so no test photo is also a training photo.";
        var shared = Scan.InSeveralClasses();
        foreach (var group in shared.Take(ListedProblems))
            yield return $"The same photo is in {group.Select(i => i.ClassIndex).Distinct().Count()} classes ({string.Join(" = ", group.Select(i => i.RelativePath))}): its labels contradict each other; keep it in one class.";
        if (shared.Count > ListedProblems)
            yield return $"... and {shared.Count - ListedProblems} more photos in several classes; {verify}.";
    }
}
