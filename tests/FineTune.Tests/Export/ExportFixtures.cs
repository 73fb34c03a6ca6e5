using FineTune.Config;
using FineTune.Models;
using FineTune.Tests.Training;
using FineTune.Tests.Weights;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Tests.Export;

/// <summary>
/// Checkpoints to export, written with the engine's checkpoint API as `finetune train` writes them: the bundled
/// ResNet-18 (BasicBlock [2, 2, 2, 3], BGR 0-255 minus a mean image) with a seeded head, and a torchvision-layout
/// ResNet-18 (ImageNet mean/std) whose every weight and BatchNorm statistic is seeded random, so no layer is an identity.
/// </summary>
static class ExportFixtures
{
    public const int Classes = 7;
    public static readonly string[] ClassNames = ["accordion", "airplanes", "anchor", "ant", "barrel", "bass", "beaver"];

    /// <summary>The bundled ResNet-18 evaluated at <paramref name="evalSize"/> (the mean image is resized to it, as in training).</summary>
    public static string BundledCheckpoint(string dir, int evalSize = 256, EvalResize resize = EvalResize.Stretch)
    {
        var weights = BundledResNet18.TryLoad(BundledResNet18.ExpectedLocation, BundledResNet18.PreprocessingLocation, Path.Combine(dir, "cache"))
            ?? throw new InvalidOperationException($"The build did not copy {BundledResNet18.ExpectedLocation}: run dotnet restore.");
        torch.random.manual_seed(21);
        using var model = PretrainedModel.Create("resnet18", weights, Classes, TestSetup.Routing);
        using (no_grad()) model.Head.bias!.uniform_(-0.5, 0.5);
        return Save(dir, "bundled.ckpt", model, weights.Preprocessing, "bundled", evalSize, resize);
    }

    /// <summary>torchvision's resnet18 layout ([2, 2, 2, 2]) with seeded random weights and BatchNorm statistics.</summary>
    public static string TorchvisionCheckpoint(string dir, int evalSize = 224, EvalResize resize = EvalResize.CenterCrop, ResNetArchitecture? architecture = null,
        PrecisionSetting precision = PrecisionSetting.Auto)
    {
        torch.random.manual_seed(22);
        using var model = new ResNet(architecture ?? ModelFactory.ArchitectureOf("resnet18"), Classes, TestSetup.Routing);
        using (no_grad())
        {
            foreach (var (name, t) in model.state_dict())
            {
                if (t.dtype != ScalarType.Float32) continue; // num_batches_tracked
                if (name.EndsWith("running_var", StringComparison.Ordinal)) t.uniform_(0.5, 2.0);
                else if (name.EndsWith("running_mean", StringComparison.Ordinal) || name.EndsWith("bias", StringComparison.Ordinal)) t.uniform_(-0.2, 0.2);
                else if (name.Contains(".bn", StringComparison.Ordinal) || name.StartsWith("bn1", StringComparison.Ordinal) || name.EndsWith("downsample.1.weight", StringComparison.Ordinal)) t.uniform_(0.5, 1.5);
            }
        }
        return Save(dir, architecture is null ? "torchvision.ckpt" : "bottleneck.ckpt", model, Preprocessing.ImageNet, "torchvision", evalSize, resize, precision);
    }

    static string Save(string dir, string name, ResNet model, Preprocessing preprocessing, string weights, int evalSize, EvalResize resize,
        PrecisionSetting precision = PrecisionSetting.Auto)
    {
        var config = FineTuneConfig.Defaults with
        {
            Data = new DataConfig { EvalImageSize = evalSize, Augmentation = new AugmentationConfig { EvalResize = resize } },
            Model = new ModelConfig { Backbone = "resnet18", Pretrained = true, Weights = weights, NumClasses = Classes },
            Training = FineTuneConfig.Defaults.Training with { Precision = precision },
        };
        var info = new CheckpointInfo
        {
            Reason = "best", Epoch = 2, BestEpoch = 2, BestValAccuracy = 0.9355,
            Backbone = "resnet18", Block = model.Architecture.Block, Layers = model.Architecture.Layers, NumClasses = Classes,
            Optimizer = "AdamW", ConfigYaml = ConfigPrinter.ToYaml(config), ClassNames = ClassNames, Preprocessing = preprocessing,
            Evaluation = EvaluationSettings.For(config, preprocessing), StartingWeights = FineTune.Training.Checkpoints.ExportSource.StartingWeights(config),
        };
        var path = Path.Combine(dir, name);
        CheckpointFile.Save(path, info, model, null);
        return path;
    }

    /// <summary>FineTune's fp32 logits for RGB 0..1 images [3, size, size]: the checkpoint's model after its own preprocessing.</summary>
    public static float[][] FineTuneLogits(string checkpointPath, IReadOnlyList<float[]> rgb01, int size)
    {
        var checkpoint = CheckpointFile.Load(checkpointPath);
        using var model = checkpoint.CreateModel(TestSetup.Routing);
        model.eval();
        var preprocessing = checkpoint.Info.Preprocessing!;
        var result = new List<float[]>();
        foreach (var chunk in rgb01.Chunk(16))
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var batch = tensor(chunk.SelectMany(x => x).ToArray(), [chunk.Length, 3, size, size]);
            var logits = model.call(preprocessing.Normalize(batch)).contiguous().data<float>().ToArray();
            int classes = logits.Length / chunk.Length;
            result.AddRange(Enumerable.Range(0, chunk.Length).Select(i => logits.AsSpan(i * classes, classes).ToArray()));
        }
        return [.. result];
    }

    /// <summary>Real photographs when FINETUNE_CALTECH_ARCHIVE names the archive (one per class), else null.</summary>
    public static List<(string Name, float[] Rgb)> Photographs(int count, int size) =>
        ParityImages.FromCaltech(CaltechArchiveFactAttribute.Archive!, count, size);

    /// <summary>Drawn scenes (always available).</summary>
    public static List<(string Name, float[] Rgb)> Scenes(int count, int size) =>
        [.. Enumerable.Range(1, count).Select(seed => ($"scene {seed}", ParityImages.Procedural(seed, size)))];

    /// <summary>Largest |expected − actual| over the largest |expected|, and whether every top-1 agrees.</summary>
    public static (double Relative, double Largest, int Top1Mismatches) Compare(float[][] expected, float[][] actual)
    {
        double worst = 0, largest = 0;
        int mismatches = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            for (int j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs(expected[i][j] - actual[i][j]));
                largest = Math.Max(largest, Math.Abs(expected[i][j]));
            }
            if (ArgMax(expected[i]) != ArgMax(actual[i])) mismatches++;
        }
        return (worst / largest, largest, mismatches);
    }

    static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());
}
