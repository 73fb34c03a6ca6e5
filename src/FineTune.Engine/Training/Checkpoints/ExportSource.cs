using System.Reflection;
using FineTune.Config;
using FineTune.Data;
using FineTune.Models;
using FineTune.Weights;

namespace FineTune.Training.Checkpoints;

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
    /// <summary>What a checkpoint says about itself (reads no tensors).</summary>
    public static ExportSource FromCheckpoint(CheckpointFile checkpoint) => FromInfo(checkpoint.Info, Path.GetFileName(checkpoint.Path));

    /// <summary>As <see cref="FromCheckpoint"/>, from the checkpoint's description (the trainer has it before the file exists).</summary>
    public static ExportSource FromInfo(CheckpointInfo info, string checkpointName)
    {
        var (preprocessing, settings) = EvaluationSettings.Of(info, checkpointName);
        var weights = info.StartingWeights
                      ?? (info.Format < 2 ? StartingWeights(EvaluationSettings.WrittenConfig(info, checkpointName)) : "starting weights not recorded");
        var provenance = $"{weights}; fine-tuned by FineTune, checkpoint {checkpointName} ({info.Reason}, epoch {info.Epoch}, "
                         + $"best validation accuracy {info.BestValAccuracy:0.####})";
        return new ExportSource(info.Architecture, info.Backbone, info.ClassNames, preprocessing, settings.ToTransform(), provenance, Version);
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

    /// <summary>Where a run of <paramref name="config"/> starts, in words (a checkpoint's <see cref="CheckpointInfo.StartingWeights"/>).</summary>
    public static string StartingWeights(FineTuneConfig config) =>
        config.Model.Pretrained ? $"started from model.weights: {config.Model.Weights}" : "trained from scratch (random init)";
}
