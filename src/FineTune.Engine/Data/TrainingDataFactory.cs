using FineTune.Config;
using FineTune.Weights;

namespace FineTune.Data;

/// <summary>
/// Turns `data:` into batches: synthetic images built here, or an image folder through <see cref="FolderTrainingData"/>
/// (the experiment's split, the seed's transforms, the parallel loader).
/// </summary>
/// <param name="rank">This process's rank among <paramref name="worldSize"/> (data-parallel training): each rank gets its shard.</param>
/// <param name="split">The folder's split, prepared (and checked) before train wrote anything; prepared on opening when null.</param>
public sealed class TrainingDataFactory(int rank = 0, int worldSize = 1, PreparedSplit? split = null) : ITrainingDataFactory
{
    public TrainingData Open(FineTuneConfig config, Preprocessing preprocessing)
    {
        var d = config.Data;
        int size = d.ImageSize ?? preprocessing.InputSize;
        if (d.Source == DataSource.Synthetic)
            return SyntheticImages.Create(config.Model.NumClasses, d.SyntheticImagesPerClass, size, d.BatchSize, d.Seed, preprocessing, rank, worldSize);

        EnsureDatasetPresent(config);
        return FolderTrainingData.Open(config, preprocessing, rank, worldSize, split);
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
