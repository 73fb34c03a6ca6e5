using System.IO.Compression;
using FineTune.Config;
using FineTune.Data;
using FineTune.Export;
using FineTune.Models;
using FineTune.Prediction;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// A checkpoint's evaluation settings (size, resize, crop, precision) travel as typed fields, so `predict` and `export`
/// need not read its config YAML; a format-1 checkpoint, which has only the YAML, fails when that cannot be read.
/// </summary>
[Xunit.Collection(RestoresKernelPlan.Collection)]
public sealed class CheckpointEvaluationTests : RestoresKernelPlan
{
    // Neither the weights' 224 nor the training size 32 and not the default resize: a fallback to any of them shows.
    static readonly EvaluationSettings Settings = new(40, ResizeMode.CenterCrop, 0.875, PrecisionSetting.Fp32);

    /// <summary>What a later version might write: a key this one refuses.</summary>
    const string FutureYaml = "data:\n  image_size: 32\n  eval_image_size: 40\n  tomorrows_key: 1\n";

    [Fact]
    public void The_typed_fields_round_trip_and_a_trained_checkpoint_has_them()
    {
        var root = Tiny.TempFolder();
        var odd = new EvaluationSettings(48, ResizeMode.CenterCrop, 0.7, PrecisionSetting.Bf16);
        var path = Save(root, "typed.ckpt", info => info with { Evaluation = odd, StartingWeights = "started from model.weights: bundled" });
        var info = CheckpointFile.Load(path).Info;
        Assert.Equal(2, info.Format);
        Assert.Equal(odd, info.Evaluation);
        Assert.Equal("started from model.weights: bundled", info.StartingWeights);
        using (var zip = ZipFile.OpenRead(path))
        using (var json = new StreamReader(zip.GetEntry("checkpoint.json")!.Open()))
            Assert.Contains("\"resize\": \"center_crop\"", json.ReadToEnd());

        var config = Tiny.Config(root, epochs: 1) with { Data = Tiny.Config(root).Data with { EvalImageSize = 36 } };
        using var model = Tiny.Model();
        new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), Tiny.Data(config), RunContext.Silent()).Run(null);
        var trained = CheckpointFile.Load(Path.Combine(root, "ckpt", "tiny", "checkpoint_best.ckpt")).Info;
        Assert.Equal(new EvaluationSettings(36, ResizeMode.Stretch, 0.875, PrecisionSetting.Fp32), trained.Evaluation);
        Assert.Equal("trained from scratch (random init)", trained.StartingWeights);
    }

    [Fact]
    public void A_checkpoint_with_typed_fields_predicts_with_them_when_its_yaml_is_unreadable()
    {
        var root = Tiny.TempFolder();
        var typed = Save(root, "typed.ckpt", info => info with { Evaluation = Settings, ConfigYaml = FutureYaml });
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(FutureYaml, "future"));
        // The same weights in a format-1 checkpoint whose config asks for the same settings: the reference.
        var config = FineTuneConfig.Defaults with
        {
            Data = new DataConfig { ImageSize = 32, EvalImageSize = 40, Augmentation = new AugmentationConfig { EvalResize = EvalResize.CenterCrop } },
            Training = new TrainingConfig { Precision = PrecisionSetting.Fp32 },
        };
        Assert.Equal(Settings, EvaluationSettings.For(config, Preprocessing.ImageNet));
        var reference = Save(root, "format1.ckpt", info => info with { Format = 1, ConfigYaml = ConfigPrinter.ToYaml(config) });

        Assert.Equal(Settings.ToTransform(), ExportSource.FromCheckpoint(CheckpointFile.Load(typed)).Eval);
        var images = ImageFiles(root);
        using var classifier = Classifier.Load(typed);
        using var referenceClassifier = Classifier.Load(reference);
        Assert.Equal(40, classifier.InputSize);
        Assert.Equal(Probabilities(referenceClassifier.Predict(images, topK: 4)), Probabilities(classifier.Predict(images, topK: 4)));
    }

    [Fact]
    public void A_format_1_checkpoint_whose_yaml_this_version_cannot_read_fails_with_a_message()
    {
        var root = Tiny.TempFolder();
        var path = Save(root, "old.ckpt", info => info with { Format = 1, ConfigYaml = FutureYaml });

        var e = Assert.Throws<CheckpointException>(() => Classifier.Load(path));
        Assert.Contains($"Checkpoint '{path}' (format 1)", e.Message);
        Assert.Contains("tomorrows_key", e.Message);
        Assert.Contains("Use it with the finetune version that trained it", e.Message);
        Assert.Throws<CheckpointException>(() => ExportSource.FromCheckpoint(CheckpointFile.Load(path)));

        var run = FinetuneProgram.Run(root, "export", "--model_path", path, "--format", "onnx", "--output", Path.Combine(root, "old.onnx"));
        Assert.Equal(ExitCodes.Failure, run.Code);
        Assert.StartsWith("finetune: Checkpoint 'old.ckpt' (format 1)", run.Err.Trim());
        Assert.False(File.Exists(Path.Combine(root, "old.onnx")));
    }

    [Fact]
    public void A_format_2_checkpoint_without_its_evaluation_settings_is_damaged_not_defaulted()
    {
        var root = Tiny.TempFolder();
        var path = Save(root, "bare.ckpt", info => info with { ConfigYaml = ConfigPrinter.ToYaml(FineTuneConfig.Defaults) });
        var e = Assert.Throws<CheckpointException>(() => Classifier.Load(path));
        Assert.Contains("has no 'evaluation'", e.Message);
    }

    /// <summary>A checkpoint of a tiny seeded model (format 2, no evaluation settings, unless <paramref name="edit"/> sets them).</summary>
    static string Save(string root, string name, Func<CheckpointInfo, CheckpointInfo> edit)
    {
        using var model = Tiny.Model();
        var info = new CheckpointInfo
        {
            Reason = "best", Epoch = 1, BestEpoch = 1, Backbone = "resnet18", Block = Tiny.Architecture.Block, Layers = Tiny.Architecture.Layers,
            NumClasses = Tiny.Classes, Optimizer = "AdamW", ClassNames = ["a", "b", "c", "d"], Preprocessing = Preprocessing.ImageNet,
        };
        var path = Path.Combine(root, name);
        CheckpointFile.Save(path, edit(info), model, null);
        return path;
    }

    /// <summary>Two synthetic images.</summary>
    static List<string> ImageFiles(string root)
    {
        var dir = Path.Combine(root, "images");
        FinetuneProgram.Run(root, "data", "synth", "--out", dir, "--classes", "2", "--per-class", "1", "--size", "64").Succeeded();
        return [.. Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order()];
    }

    static double[] Probabilities(List<ImagePrediction> predictions) =>
        [.. predictions.SelectMany(p => p.TopK.Select(c => Math.Round(c.Probability, 6)))];
}
