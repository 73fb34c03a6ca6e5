using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTune.IO;
using FineTune.Models;
using FineTune.Weights;

namespace FineTune.Training.Checkpoints;

/// <summary>
/// The JSON written next to an exported .pth: what a state dict alone does not say. The architecture to build
/// (torchvision's ResNet class with this block and these layer counts: the bundled ResNet-18 has [2, 2, 2, 3],
/// which torchvision's resnet18() is not), the preprocessing, the evaluation size and resize, and the class names.
/// tools/pytorch/load_export.py reads it.
/// </summary>
public static class PyTorchManifest
{
    public const string Format = "finetune-pytorch-export/1";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The manifest's path for a .pth path: the same name with .json.</summary>
    public static string PathFor(string pthPath) => Path.ChangeExtension(pthPath, ".json");

    public static void Save(ExportSource s, string pthPath, string jsonPath) =>
        AtomicWrite.Text(jsonPath, JsonSerializer.Serialize(Describe(s, Path.GetFileName(pthPath)), Json) + "\n");

    static Manifest Describe(ExportSource s, string stateDict)
    {
        var p = s.Preprocessing;
        int size = s.Eval.Size;
        MeanImageJson? meanImage = p.MeanImage is { } image
            ? new([3, size, size], "float32", "little",
                Convert.ToBase64String(MemoryMarshal.AsBytes(image.ResizedTo(size, size).AsSpan())))
            : null;
        return new Manifest(
            Format,
            stateDict,
            new ArchitectureJson("torchvision.models.resnet.ResNet", s.Architecture.Block == BlockKind.Basic ? "BasicBlock" : "Bottleneck",
                s.Architecture.Layers, s.ClassNames.Length),
            s.Backbone,
            s.ClassNames,
            new PreprocessingJson(
                "float32 RGB 0..1 NCHW (torchvision's ToTensor of the resized image)",
                "x = rgb01 * pixel_scale; reorder channels to channel_order; x = (x - mean_image or mean) / std",
                p.PixelScale, p.ChannelOrder == ChannelOrder.Bgr ? "BGR" : "RGB", p.Mean, p.Std, meanImage),
            new EvalJson(size, s.ResizeName, s.Eval.CropFraction, "bilinear with antialiasing (PIL's resize filter)", s.ResizeDescription),
            s.WeightsProvenance,
            s.FineTuneVersion);
    }

    sealed record Manifest(
        [property: JsonPropertyName("format")] string Format,
        [property: JsonPropertyName("state_dict")] string StateDict,
        [property: JsonPropertyName("architecture")] ArchitectureJson Architecture,
        [property: JsonPropertyName("backbone")] string Backbone,
        [property: JsonPropertyName("class_names")] string[] ClassNames,
        [property: JsonPropertyName("preprocessing")] PreprocessingJson Preprocessing,
        [property: JsonPropertyName("eval")] EvalJson Eval,
        [property: JsonPropertyName("weights")] string Weights,
        [property: JsonPropertyName("finetune_version")] string FineTuneVersion);

    sealed record ArchitectureJson(
        [property: JsonPropertyName("class")] string Class,
        [property: JsonPropertyName("block")] string Block,
        [property: JsonPropertyName("layers")] int[] Layers,
        [property: JsonPropertyName("num_classes")] int NumClasses);

    sealed record PreprocessingJson(
        [property: JsonPropertyName("input")] string Input,
        [property: JsonPropertyName("formula")] string Formula,
        [property: JsonPropertyName("pixel_scale")] float PixelScale,
        [property: JsonPropertyName("channel_order")] string ChannelOrder,
        [property: JsonPropertyName("mean")] float[] Mean,
        [property: JsonPropertyName("std")] float[] Std,
        [property: JsonPropertyName("mean_image")] MeanImageJson? MeanImage);

    /// <summary>A per-pixel mean at the evaluation size, in the model's channel order and pixel scale: float32 little-endian, base64.</summary>
    sealed record MeanImageJson(
        [property: JsonPropertyName("shape")] int[] Shape,
        [property: JsonPropertyName("dtype")] string Dtype,
        [property: JsonPropertyName("byte_order")] string ByteOrder,
        [property: JsonPropertyName("base64")] string Base64);

    sealed record EvalJson(
        [property: JsonPropertyName("size")] int Size,
        [property: JsonPropertyName("resize")] string Resize,
        [property: JsonPropertyName("crop_fraction")] double CropFraction,
        [property: JsonPropertyName("interpolation")] string Interpolation,
        [property: JsonPropertyName("description")] string Description);
}
