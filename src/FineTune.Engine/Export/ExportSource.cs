using System.Reflection;
using FineTune.Config;
using FineTune.Data;
using FineTune.Models;
using FineTune.Training.Checkpoints;
using FineTune.Weights;

namespace FineTune.Export;

/// <summary>
/// Everything an exported file must carry so that another runtime classifies exactly as FineTune does: the network,
/// its preprocessing, the evaluation resize and size, the class names, and where the weights came from.
/// </summary>
public sealed record ExportSource(
    ResNetArchitecture Architecture,
    string Backbone,
    string[] ClassNames,
    Preprocessing Preprocessing,
    EvalTransform Eval,
    string WeightsProvenance,
    string FineTuneVersion)
{
    /// <summary>The preprocessing and evaluation resize that `finetune predict` and `finetune test` use for this checkpoint.</summary>
    public static (Preprocessing Preprocessing, EvalTransform Eval) EvalSettings(CheckpointInfo info)
    {
        var preprocessing = info.Preprocessing ?? Preprocessing.ImageNet;
        var trained = TrainedConfig(info);
        int size = trained?.Data.EvalSizeFor(preprocessing.InputSize) ?? preprocessing.InputSize;
        var eval = trained is null ? new EvalTransform(size) : FolderTrainingData.EvalTransformFor(trained, size);
        return (preprocessing, eval);
    }

    /// <summary>What a checkpoint says about itself (reads no tensors).</summary>
    public static ExportSource FromCheckpoint(CheckpointFile checkpoint) => FromInfo(checkpoint.Info, Path.GetFileName(checkpoint.Path));

    /// <summary>As <see cref="FromCheckpoint"/>, from the checkpoint's description (the trainer has it before the file exists).</summary>
    public static ExportSource FromInfo(CheckpointInfo info, string checkpointName)
    {
        var (preprocessing, eval) = EvalSettings(info);
        var trained = TrainedConfig(info);
        var weights = trained is null ? "unknown starting weights"
            : trained.Model.Pretrained ? $"started from model.weights: {trained.Model.Weights}" : "trained from scratch (random init)";
        var provenance = $"{weights}; fine-tuned by FineTune, checkpoint {checkpointName} ({info.Reason}, epoch {info.Epoch}, "
                         + $"best validation accuracy {info.BestValAccuracy:0.####})";
        return new ExportSource(info.Architecture, info.Backbone, info.ClassNames, preprocessing, eval, provenance, Version);
    }

    /// <summary>This program's version, as the assembly's informational version (version+commit).</summary>
    public static string Version { get; } =
        typeof(ExportSource).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>"stretch" or "center_crop": the resize a runtime must do before the graph.</summary>
    public string ResizeName => Eval.Mode == ResizeMode.CenterCrop ? "center_crop" : "stretch";

    /// <summary>In words, for doc strings and the JSON: how to turn an image file into the model's input.</summary>
    public string ResizeDescription => Eval.Mode == ResizeMode.CenterCrop
        ? $"keep the aspect ratio, take the centre square of {Eval.CropFraction:0.###} of the shorter side, resize it to {Eval.Size}x{Eval.Size} (antialiased bilinear, as PIL)"
        : $"resize the whole image to {Eval.Size}x{Eval.Size}, ignoring the aspect ratio (antialiased bilinear, as PIL)";

    /// <summary>The config the checkpoint was trained with (its evaluation size and resize), when it holds a readable one.</summary>
    public static FineTuneConfig? TrainedConfig(CheckpointInfo info)
    {
        if (string.IsNullOrWhiteSpace(info.ConfigYaml)) return null;
        try { return ConfigLoader.Parse(info.ConfigYaml, "checkpoint"); }
        catch (ConfigException) { return null; }
    }
}
