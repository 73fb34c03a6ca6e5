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

        return FolderTrainingData.Open(config, preprocessing, rank, worldSize, split);
    }
}
