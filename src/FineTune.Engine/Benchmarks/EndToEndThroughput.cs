using FineTune.Data;
using FineTune.Models;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;
using FineTune.Training.Memory;

namespace FineTune.Benchmarks;

/// <summary>
/// The images an end-to-end benchmark reads, the same on both sides: a seeded subset of the usable images of a
/// folder-per-class set, as `finetune data bench` picks them.
/// </summary>
public sealed record BenchmarkImages(string DataDir, ImageDataset Dataset)
{
    public const ulong Seed = 7;

    /// <summary>Scans <paramref name="dataDir"/> (every file checked) and keeps up to <paramref name="count"/> usable images.</summary>
    public static BenchmarkImages Pick(string dataDir, int count)
    {
        var all = ImageDataset.FromScan(DatasetScan.Run(dataDir));
        var pick = EpochOrder.Shuffled(Seed, 0, all.Count).Take(Math.Min(count, all.Count)).Order();
        return new(dataDir, new ImageDataset(all.Root, all.Classes, pick.Select(i => all.Samples[i]).ToList()));
    }

    public int Count => Dataset.Count;
    public int Classes => Dataset.Classes.Count;
}

/// <summary>
/// Our side of `finetune bench --data_dir`: every timed step takes the next batch from the project's
/// <see cref="DataLoader"/> (the wait for it counts) and then runs the model step of <see cref="ModelThroughput"/>,
/// like tools/pytorch/bench_e2e.py does with torchvision's DataLoader. Train uses the seed's augmentation
/// (RandomResizedCrop 0.8-1 / 0.8-1.2, flip, rotation 15) over a shuffled order; eval resizes to Size x Size in order.
/// </summary>
public static class EndToEndThroughput
{
    public static ThroughputResult Measure(string backbone, BenchmarkMode mode, BenchmarkImages images, BenchmarkSettings s)
    {
        s.Validate();
        if (images.Count < s.Batch)
            throw new DatasetException($"Only {images.Count} usable images under '{images.DataDir}', fewer than one batch of {s.Batch}; lower --batch.");
        ModelThroughput.ConfigureThreads(s);
        bool perRow = ProcessMemory.TryResetPeak();

        torch.manual_seed(0);
        using var model = ModelFactory.Create(backbone, images.Classes, s.Routing);
        if (s.ChannelsLast) ChannelsLast.Convert(model);
        model.Precision = s.Precision;
        bool train = mode == BenchmarkMode.Train;
        ImageTransform transform = train ? new TrainTransform(s.Size, 0.8, 1.0, 0.8, 1.2, 0.5, 15) : new EvalTransform(s.Size, ResizeMode.Stretch);
        using var loader = new DataLoader(images.Dataset, transform, Preprocessing.ImageNet,
            new LoaderOptions(BatchSize: s.Batch, NumWorkers: s.Workers, Shuffle: train, DropLast: true));
        // Disposing the enumerator stops the loader's workers and frees the batches they had ready.
        using var batches = FullBatches(loader, s.Batch).GetEnumerator();

        using var engine = train ? null : OpenEngine(model, s); // before the count, as in ModelThroughput
        int collections = GC.CollectionCount(0);
        var times = train ? TimeTraining(model, batches, s)
            : engine is not null ? engine.Time(() => Next(batches), s)
            : TimeEvaluation(model, batches, s);
        collections = GC.CollectionCount(0) - collections;
        return new ThroughputResult(backbone, mode, s.Batch, times, ProcessMemory.PeakResidentBytes(), perRow, collections) { Engine = engine?.Name ?? "libtorch" };
    }

    /// <summary>Our evaluation engine, checked on a random batch of the loader's shape (<see cref="BenchEngine"/>).</summary>
    static BenchEngine? OpenEngine(ResNet model, BenchmarkSettings s)
    {
        using var sample = randn(s.Batch, 3, s.Size, s.Size);
        return BenchEngine.Open(model, sample, s);
    }

    static StepTimes TimeTraining(ResNet model, IEnumerator<Batch> batches, BenchmarkSettings s)
    {
        model.train();
        using var optimizer = optim.SGD(model.parameters(), BenchmarkSettings.LearningRate, BenchmarkSettings.Momentum,
                                        weight_decay: BenchmarkSettings.WeightDecay);
        return StepTimes.Measure(s.Warmup, s.Steps, () =>
        {
            using var batch = Next(batches);
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(Input(batch, s)), batch.Labels);
            loss.backward();
            optimizer.step();
        });
    }

    static StepTimes TimeEvaluation(ResNet model, IEnumerator<Batch> batches, BenchmarkSettings s)
    {
        var pass = ModelThroughput.EvalPassFor(model, s);
        return StepTimes.Measure(s.Warmup, s.Steps, () =>
        {
            using var batch = Next(batches);
            using var scope = NewDisposeScope();
            pass.Forward(Input(batch, s));
        });
    }

    /// <summary>The batch's images in the model's memory format (a copy made inside the step's scope when channels-last).</summary>
    static Tensor Input(Batch batch, BenchmarkSettings s) => s.ChannelsLast ? ChannelsLast.Of(batch.Images) : batch.Images;

    static Batch Next(IEnumerator<Batch> batches) =>
        batches.MoveNext() ? batches.Current : throw new InvalidOperationException("The data loader stopped giving batches.");

    /// <summary>Full batches, epoch after epoch, for as long as the caller asks; a batch shortened by an unreadable file is skipped.</summary>
    static IEnumerable<Batch> FullBatches(DataLoader loader, int size)
    {
        for (int epoch = 0; ; epoch++)
        {
            int full = 0;
            foreach (var batch in loader.Epoch(epoch))
            {
                if (batch.Count < size) { batch.Dispose(); continue; }
                full++;
                yield return batch;
            }
            if (full == 0)
                throw new DatasetException($"An epoch over '{loader.Dataset.Root}' gave no full batch of {size}: images became unreadable ({loader.Problems.Count} problem(s)).");
        }
    }
}
