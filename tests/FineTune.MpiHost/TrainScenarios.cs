using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Cli.Parsing;
using FineTune.Data;
using FineTune.Distributed;
using FineTune.Kernels;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

/// <summary>
/// Training through the API `finetune train` runs on (<see cref="Experiment.Train"/>: Trainer, DistributedContext), with
/// its own data (<see cref="TrainOptions.Data"/>): the synthetic images sharded by rank and one test-only twist.
/// </summary>
static class TrainScenarios
{
    static (int Rank, int World) Where() => LaunchInfo.FromEnvironment() is { } l ? (l.Rank, l.Size) : (0, 1);

    static TrainingData Synthetic(FineTune.Config.FineTuneConfig c, FineTune.Weights.Preprocessing p, int rank, int world) =>
        SyntheticImages.Create(c.Model.NumClasses, c.Data.SyntheticImagesPerClass, c.Data.ImageSize ?? p.InputSize, c.Data.BatchSize, c.Data.Seed, p, rank, world);

    /// <summary>
    /// `finetune train --config F [--distributed]` with <paramref name="data"/> in place of the config's data (null: the
    /// config's own) and <paramref name="kernels"/> for the kernel check's seams; exit code as the command's.
    /// </summary>
    static int Train(string[] args, Func<FineTune.Config.FineTuneConfig, FineTune.Weights.Preprocessing, TrainingData>? data,
                     KernelCheckOptions? kernels = null)
    {
        var cl = new CommandLine(args, CommandCatalog.Train);
        var config = FineTune.Config.ConfigLoader.Load(cl.Require("config", "the config"));
        // As `finetune train` prints: the tests read the ranks' lines (the library itself is quiet without a logger).
        var options = new TrainOptions
        {
            Distributed = cl.Flag("distributed"), Data = data, Logger = FineTune.Logging.PlainTextLogger.Console(),
            Kernels = kernels ?? KernelCheckOptions.None,
        };
        return Experiment.Train(config, options).Outcome == FineTune.Training.TrainingOutcome.Diverged ? 1 : 0;
    }

    /// <summary>Rank <paramref name="poisonedRank"/>'s training batch number <paramref name="step"/> (1-based, first epoch) is all NaN pixels.</summary>
    public static int NanOnRank(int poisonedRank, int step, string[] trainArgs)
    {
        return Train(trainArgs, (config, preprocessing) =>
        {
            var (rank, world) = Where();
            var data = Synthetic(config, preprocessing, rank, world);
            return rank == poisonedRank ? data with { Train = new Poisoned(data.Train, step) } : data;
        });
    }

    /// <summary>The linear probe's training images: <paramref name="counts"/>[rank] of them on each rank (as when decodes failed on one).</summary>
    public static int UnevenProbe(int[] counts, string[] trainArgs)
    {
        return Train(trainArgs, (config, preprocessing) =>
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
        });
    }

    /// <summary>
    /// The CPU of rank <paramref name="faultyRank"/> alone computes a convolution wrong (<paramref name="fault"/>, a
    /// <see cref="KernelFault"/> spec), in its model and in the kernel check's probes it starts; every rank prints the
    /// kernel plan it computed with.
    /// </summary>
    public static int FaultOnOneRank(int faultyRank, string fault, string[] trainArgs)
    {
        var (rank, _) = Where();
        KernelPlan? used = null;
        var kernels = (rank == faultyRank ? FaultyKernels.Options(fault) : KernelCheckOptions.None) with { OnPlan = plan => used = plan };
        int code = Train(trainArgs, (config, preprocessing) =>
        {
            var (r, world) = Where();
            return Synthetic(config, preprocessing, r, world);
        }, kernels);
        WholeLine($"rank {rank} plan: {used?.Summary()}");
        return code;
    }

    /// <summary>
    /// One line to stdout in a single write. Console.Out writes a long line in 256-byte pieces, and with both ranks
    /// printing at the same moment mpirun relayed one rank's line into the middle of the other's (CI saw "...fp32rank 0
    /// plan: ..."), so the test found one plan line instead of two. A pipe write under 4 KiB is not split.
    /// </summary>
    static void WholeLine(string line)
    {
        Console.Out.Flush();
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(System.Text.Encoding.UTF8.GetBytes(line + "\n"));
        stdout.Flush();
    }

    /// <summary>`finetune train` (the config's own data) on a CPU with the faults of <paramref name="fault"/> ("" for none), in its model and its kernel check's probes.</summary>
    public static int WithFaults(string fault, string[] trainArgs) => Train(trainArgs, data: null, FaultyKernels.Options(fault));

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

        public void Dispose() => inner.Dispose();
    }
}
