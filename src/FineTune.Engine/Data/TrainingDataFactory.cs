using FineTune.Config;
using FineTune.Weights;

namespace FineTune.Data;

/// <summary>
/// Turns `data:` into batches. Synthetic data is built here; image folders are the data pipeline's job.
/// SEAM: the lead plugs the data pipeline's folder loader in through <see cref="FolderLoader"/>
/// (scan data_dir, split train/val/test with data.seed, transforms for the preprocessing, batches).
/// </summary>
/// <param name="rank">This process's rank among <paramref name="worldSize"/> (data-parallel training): synthetic data is sharded here; the folder loader shards its own.</param>
public sealed class TrainingDataFactory(Func<FineTuneConfig, Preprocessing, TrainingData>? folderLoader = null, int rank = 0, int worldSize = 1) : ITrainingDataFactory
{
    public Func<FineTuneConfig, Preprocessing, TrainingData>? FolderLoader { get; } = folderLoader;

    public TrainingData Open(FineTuneConfig config, Preprocessing preprocessing)
    {
        var d = config.Data;
        int size = d.ImageSize ?? preprocessing.InputSize;
        if (d.Source == DataSource.Synthetic)
            return SyntheticImages.Create(config.Model.NumClasses, d.SyntheticImagesPerClass, size, d.BatchSize, d.Seed, preprocessing, rank, worldSize);

        EnsureDatasetPresent(config);
        if (FolderLoader is null)
            throw new NotSupportedException(
                "Training on an image folder needs the data pipeline, which this build does not include; use data.source: synthetic (configs/quickstart.yaml) meanwhile.");
        return FolderLoader(config, preprocessing);
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
}
