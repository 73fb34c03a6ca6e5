using System.Diagnostics;
using FineTune.Benchmarks;
using FineTune.Config;
using FineTune.Data;
using FineTune.Models;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Planning;

/// <summary>
/// What one image costs on this machine, in wall seconds, measured at <see cref="ReferenceSize"/> px: a forward pass
/// (the probe's features, validation, test), a training step of the recipe (its frozen stages get no backward), and
/// decoding plus resizing one of the user's own photos. The planner scales the first two by pixel count.
/// </summary>
public sealed record MachineCosts(double ForwardSeconds, double TrainSeconds, double DecodeSeconds)
{
    public const int ReferenceSize = 224;
    const int Batch = 32; // the run's own batch: smaller batches use the cores less well and overstate the time per image

    /// <summary>Seconds per image of a forward pass at <paramref name="size"/> px.</summary>
    public double Forward(int size) => ForwardSeconds * Scale(size);

    /// <summary>Seconds per image of a training step at <paramref name="size"/> px.</summary>
    public double Train(int size) => TrainSeconds * Scale(size);

    static double Scale(int size) => (double)size * size / (ReferenceSize * ReferenceSize);

    /// <summary>
    /// Times a randomly initialised <paramref name="backbone"/> (weights do not change the time) for a few steps on
    /// <paramref name="device"/>, with the recipe's freezing and memory layout, and decodes <paramref name="samplePhotos"/>
    /// on one thread. About fifteen seconds on a 2-core CPU; the kernel check must have run first (it routes the convolutions).
    /// </summary>
    /// <param name="freezeStages">Stages that get no gradient, as training.freeze_stages.</param>
    /// <param name="precision">What the run will compute in (the trainer's choice for training.precision on this machine).</param>
    /// <param name="evalEngine">training.eval_engine: the probe's features, validation and test run on ONNX Runtime where it can, so their forward is timed there.</param>
    public static MachineCosts Measure(string backbone, int classes, int freezeStages, bool channelsLast, ComputePrecision precision, Device device, IReadOnlyList<string> samplePhotos,
                                       KernelRouting routing, EvalEngineSetting evalEngine)
    {
        manual_seed(0);
        using var model = ModelFactory.Create(backbone, classes, routing);
        model.to(device);
        if (channelsLast) ChannelsLast.Convert(model);
        model.Precision = precision; // what training will compute in (auto may choose bf16 on this CPU)
        using var plain = randn(Batch, 3, ReferenceSize, ReferenceSize, device: device);
        using var images = channelsLast ? ChannelsLast.Of(plain) : plain.alias();
        using var labels = randint(0, classes, [Batch], dtype: ScalarType.Int64, device: device);

        model.eval();
        var forward = TimeForward(model, device, plain, images, channelsLast, evalEngine);

        foreach (var part in model.EarlyModules(freezeStages))
            foreach (var p in part.parameters()) p.requires_grad = false;
        // The bench's training step (SGD on the parameters that learn: the frozen ones get no gradient, so no backward through them).
        var train = ModelThroughput.TimeTraining(model, images, labels, new BenchmarkSettings { Warmup = 2, Steps = 3 });
        return new MachineCosts(forward, train.Median / Batch, DecodeTime(samplePhotos));
    }

    /// <summary>
    /// Seconds per image of an evaluation forward on the engine the run's passes use: ONNX Runtime where it runs the
    /// model (on the family-23 AMD EPYC it ran the probe's features about a quarter faster than libtorch's forward was
    /// timed, and a plan from libtorch's time left a third of the budget unused), else libtorch. Two warm-up steps: the
    /// first steps at a new shape create oneDNN primitives and grow the heap, and overstated the time by about 15%.
    /// </summary>
    static double TimeForward(ResNet model, Device device, Tensor plain, Tensor images, bool channelsLast, EvalEngineSetting evalEngine)
    {
        var settings = new BenchmarkSettings { Warmup = 2, Steps = 3, ChannelsLast = channelsLast, EvalEngine = evalEngine, Precision = model.Precision };
        BenchEngine? engine = null;
        try { engine = device.type == DeviceType.CPU ? BenchEngine.Open(model, plain, settings) : null; }
        catch (InvalidOperationException) { } // it disagreed with libtorch here: the run's passes will set it aside too
        if (engine is not null)
            using (engine) return engine.Time(plain, settings).Median / Batch;
        return StepTimes.Measure(settings.Warmup, settings.Steps, () =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.call(images);
        }).Median / Batch;
    }

    /// <summary>
    /// Wall seconds per photo to decode and resize it, on one thread, spread over the machine's cores (the loader's
    /// workers share the cores with libtorch, so a photo's decoding adds its CPU time divided by the cores to the run).
    /// </summary>
    static double DecodeTime(IReadOnlyList<string> photos)
    {
        if (photos.Count == 0) return 0;
        var dataset = new ImageDataset(".", ["sample"], photos.Select(p => new Sample(p, p, 0)).ToList());
        var options = new LoaderOptions(BatchSize: 8, NumWorkers: 1, Shuffle: false);
        using var loader = new DataLoader(dataset, new EvalTransform(ReferenceSize, ResizeMode.Stretch), Preprocessing.ImageNet, options);
        var clock = Stopwatch.StartNew();
        foreach (var batch in loader.Epoch(0)) batch.Dispose();
        return clock.Elapsed.TotalSeconds / photos.Count / Math.Max(1, Environment.ProcessorCount);
    }
}
