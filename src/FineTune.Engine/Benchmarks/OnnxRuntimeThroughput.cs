using FineTune.Data;
using FineTune.Export;
using FineTune.Prediction;
using FineTune.Models;
using FineTune.Weights;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using FineTune.Training.Memory;
using FineTune.Training.Checkpoints;

namespace FineTune.Benchmarks;

/// <summary>
/// ONNX Runtime's side of `finetune bench` in evaluation: the same random-init ResNet as <see cref="ModelThroughput"/>
/// (same seed), exported by <see cref="OnnxExport"/> exactly as `finetune export --format onnx` writes it (its
/// preprocessing, a subtraction and a division, included), run by ONNX Runtime's CPU provider on a batch made once.
/// </summary>
public static class OnnxRuntimeThroughput
{
    public static string Version => OrtEnv.Instance().GetVersionString();

    public static ThroughputResult Measure(string backbone, BenchmarkSettings settings)
    {
        settings.Validate();
        bool perRow = ProcessMemory.TryResetPeak();
        byte[] model;
        torch.manual_seed(0);
        using (var network = ModelFactory.Create(backbone, settings.Classes, settings.Routing))
        {
            network.eval();
            var source = new ExportSource(network.Architecture, backbone, [.. Enumerable.Range(0, settings.Classes).Select(i => $"class{i}")],
                Preprocessing.ImageNet, new EvalTransform(settings.Size), "random init (finetune bench)", ExportSource.Version);
            model = OnnxExport.Build(network, source).ToByteArray();
        }
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = settings.EffectiveThreads };
        using var session = new InferenceSession(model, options);
        var random = new Random(0);
        var pixels = new float[settings.Batch * 3 * settings.Size * settings.Size];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = random.NextSingle();
        var input = new[] { NamedOnnxValue.CreateFromTensor(OnnxModelFile.InputName, new DenseTensor<float>(pixels, [settings.Batch, 3, settings.Size, settings.Size])) };

        int collections = GC.CollectionCount(0);
        var times = StepTimes.Measure(settings.Warmup, settings.Steps, () => session.Run(input).Dispose());
        collections = GC.CollectionCount(0) - collections;
        return new ThroughputResult(backbone, BenchmarkMode.Eval, settings.Batch, times, ProcessMemory.PeakResidentBytes(), perRow, collections);
    }
}
