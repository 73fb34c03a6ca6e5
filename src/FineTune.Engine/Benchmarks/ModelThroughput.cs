using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Native;
using TorchSharp;
using static TorchSharp.torch;
using FineTune.Training.Memory;

namespace FineTune.Benchmarks;

/// <summary>
/// Our side of the benchmark: a TorchSharp ResNet (random init, <see cref="BenchmarkSettings.Classes"/> classes)
/// on a random batch made once, so only the model is timed, exactly like tools/pytorch/bench_models.py.
/// </summary>
public static class ModelThroughput
{
    static bool _interopSet;

    /// <summary>
    /// Applies the thread settings to libtorch. Inter-op threads can be set once per process, before any
    /// parallel work; a later different request is an error the caller should hear about.
    /// </summary>
    public static void ConfigureThreads(BenchmarkSettings settings)
    {
        TorchNative.EnsureLoaded();
        torch.set_num_threads(settings.EffectiveThreads);
        if (settings.InteropThreads > 0 && !_interopSet)
        {
            torch.set_num_interop_threads(settings.InteropThreads);
            _interopSet = true;
        }
    }

    public static ThroughputResult Measure(string backbone, BenchmarkMode mode, BenchmarkSettings settings)
    {
        settings.Validate();
        ConfigureThreads(settings);
        bool perRow = ProcessMemory.TryResetPeak();

        torch.manual_seed(0);
        using var model = ModelFactory.Create(backbone, settings.Classes, settings.Routing);
        using var plain = randn(settings.Batch, 3, settings.Size, settings.Size);
        using var images = settings.ChannelsLast ? ChannelsLast.Of(plain) : plain.alias();
        using var labels = randint(0, settings.Classes, [settings.Batch], dtype: ScalarType.Int64);
        if (settings.ChannelsLast) ChannelsLast.Convert(model);
        model.Precision = settings.Precision;

        // The engine's export allocates copies of the weights: opened before the collections are counted.
        using var engine = mode == BenchmarkMode.Eval ? BenchEngine.Open(model, plain, settings) : null;
        // Collections during the timed steps show whether the managed side adds GC pressure (dispose scopes should keep it at ~0).
        int collections = GC.CollectionCount(0);
        var times = mode == BenchmarkMode.Train ? TimeTraining(model, images, labels, settings)
            : engine is not null ? engine.Time(plain, settings)
            : TimeEvaluation(model, images, settings);
        collections = GC.CollectionCount(0) - collections;
        return new ThroughputResult(backbone, mode, settings.Batch, times, ProcessMemory.PeakResidentBytes(), perRow, collections) { Engine = engine?.Name ?? "libtorch" };
    }

    /// <summary>The timed training steps (warm-up, then measured): SGD steps on <paramref name="model"/>, which they change.</summary>
    public static StepTimes TimeTraining(ResNet model, Tensor images, Tensor labels, BenchmarkSettings s)
    {
        model.train();
        using var optimizer = optim.SGD(model.parameters(), BenchmarkSettings.LearningRate, BenchmarkSettings.Momentum,
                                        weight_decay: BenchmarkSettings.WeightDecay);
        return StepTimes.Measure(s.Warmup, s.Steps, () =>
        {
            // Everything a step makes (activations, loss, temporaries of the optimiser) dies with the scope.
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(images), labels);
            loss.backward();
            optimizer.step();
        });
    }

    /// <summary>The timed forward passes of the evaluation loop (<see cref="EvalPass.Forward"/>), without gradients.</summary>
    public static StepTimes TimeEvaluation(ResNet model, Tensor images, BenchmarkSettings s)
    {
        var pass = EvalPassFor(model, s);
        return StepTimes.Measure(s.Warmup, s.Steps, () =>
        {
            using var scope = NewDisposeScope();
            pass.Forward(images);
        });
    }

    /// <summary>
    /// The evaluation loop's forward, model in eval mode. The bench lays its input out itself (channels-last as
    /// <see cref="BenchmarkSettings.ChannelsLast"/> says, on the CPU, as PyTorch's side does), so the pass's own input
    /// preparation is not used.
    /// </summary>
    internal static EvalPass EvalPassFor(ResNet model, BenchmarkSettings s) =>
        new EvalPass(model, CPU, s.ChannelsLast, inferenceMode: s.EvalGradMode == EvalGradMode.InferenceMode).EvalMode();
}
