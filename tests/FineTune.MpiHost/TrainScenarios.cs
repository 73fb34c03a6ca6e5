using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Data;
using FineTune.Distributed;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

/// <summary>
/// `finetune train` exactly as the program runs it (TrainCommand, Trainer, DistributedContext), with the data seam
/// (<see cref="TrainCommand.FolderLoader"/>) giving the synthetic images sharded by rank and one test-only twist.
/// The config names data.source: folder with an existing data_dir that holds one (empty) class folder.
/// </summary>
static class TrainScenarios
{
    static (int Rank, int World) Where() => LaunchInfo.FromEnvironment() is { } l ? (l.Rank, l.Size) : (0, 1);

    static TrainingData Synthetic(FineTune.Config.FineTuneConfig c, FineTune.Weights.Preprocessing p, int rank, int world) =>
        SyntheticImages.Create(c.Model.NumClasses, c.Data.SyntheticImagesPerClass, c.Data.ImageSize ?? p.InputSize, c.Data.BatchSize, c.Data.Seed, p, rank, world);

    static int Train(string[] args) => TrainCommand.Run(new CommandLine(args, TrainCommand.Flags));

    /// <summary>Rank <paramref name="poisonedRank"/>'s training batch number <paramref name="step"/> (1-based, first epoch) is all NaN pixels.</summary>
    public static int NanOnRank(int poisonedRank, int step, string[] trainArgs)
    {
        TrainCommand.FolderLoader = (config, preprocessing) =>
        {
            var (rank, world) = Where();
            var data = Synthetic(config, preprocessing, rank, world);
            return rank == poisonedRank ? data with { Train = new Poisoned(data.Train, step) } : data;
        };
        return Train(trainArgs);
    }

    /// <summary>The linear probe's training images: <paramref name="counts"/>[rank] of them on each rank (as when decodes failed on one).</summary>
    public static int UnevenProbe(int[] counts, string[] trainArgs)
    {
        TrainCommand.FolderLoader = (config, preprocessing) =>
        {
            var (rank, world) = Where();
            var data = Synthetic(config, preprocessing, rank, world);
            var (images, labels) = SyntheticImages.Draw(config.Model.NumClasses, config.Data.SyntheticImagesPerClass,
                config.Data.ImageSize ?? preprocessing.InputSize, config.Data.Seed, preprocessing);
            long keep = counts[rank];
            var probe = new InMemoryBatchSource(images.narrow(0, 0, keep).clone(), labels.narrow(0, 0, keep).clone(),
                config.Data.BatchSize, shuffle: false, config.Data.Seed);
            Console.Error.WriteLine($"rank {rank}: {keep} probe images");
            return data with { TrainUnaugmented = probe };
        };
        return Train(trainArgs);
    }

    sealed class Poisoned(IBatchSource inner, int step) : IBatchSource
    {
        public int ImageCount => inner.ImageCount;
        public int BatchCount => inner.BatchCount;

        public IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0)
        {
            int b = skipBatches;
            foreach (var batch in inner.Epoch(epoch, skipBatches))
            {
                if (epoch == 1 && ++b == step)
                {
                    var nan = full_like(batch.Images, double.NaN);
                    var labels = batch.Labels.clone();
                    var poisoned = new Batch(nan, labels, batch.Indices, batch.Paths);
                    batch.Dispose();
                    yield return poisoned;
                }
                else yield return batch;
            }
        }
    }
}
