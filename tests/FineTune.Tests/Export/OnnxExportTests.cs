using System.Text.Json;
using FineTune.Export;
using FineTune.Prediction;
using FineTune.Tests.Training;
using FineTune.Tests.Weights;
using FineTune.Training.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Export;

/// <summary>
/// `finetune export --format onnx` against FineTune itself: ONNX Runtime on the exported file (preprocessing inside the
/// graph) and FineTune's fp32 model on the same RGB 0..1 pixels must agree to 1e-4 of the largest logit, with the same top-1.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    static string Export(string checkpoint)
    {
        var onnx = Path.ChangeExtension(checkpoint, ".onnx");
        ModelExport.Run(checkpoint, onnx, ExportFormat.Onnx, overwrite: false);
        return onnx;
    }

    void AssertParity(string checkpoint, List<(string Name, float[] Rgb)> images, int size)
    {
        var onnx = Export(checkpoint);
        var expected = ExportFixtures.FineTuneLogits(checkpoint, [.. images.Select(i => i.Rgb)], size);
        using var classifier = OnnxClassifier.Open(onnx);
        Assert.Equal(size, classifier.Eval.Size);
        // Uneven batches: the batch dimension is dynamic.
        var actual = images.Select(i => i.Rgb).Chunk(13)
            .SelectMany(chunk => classifier.Run([.. chunk.SelectMany(x => x)], chunk.Length).Logits).ToArray();
        var (relative, largest, mismatches) = ExportFixtures.Compare(expected, actual);
        output.WriteLine($"{Path.GetFileName(checkpoint)}: {images.Count} images at {size} px; largest |ONNX Runtime - FineTune| / largest |logit| ({largest:G4}) = {relative:G3} (bar {Tolerance}); top-1 differs on {mismatches}");
        Assert.True(relative <= Tolerance, $"relative logit difference {relative:G3} exceeds {Tolerance}");
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void Bundled_resnet18_matches_finetune_on_drawn_scenes() =>
        AssertParity(ExportFixtures.BundledCheckpoint(Tiny.TempFolder(), evalSize: 256), ExportFixtures.Scenes(6, 256), 256);

    [Fact]
    public void Torchvision_layout_matches_finetune_on_drawn_scenes() =>
        AssertParity(ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 224), ExportFixtures.Scenes(6, 224), 224);

    [Fact]
    public void Bottleneck_blocks_match_finetune_on_drawn_scenes() =>
        AssertParity(ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 96, architecture: new FineTune.Models.ResNetArchitecture(FineTune.Models.BlockKind.Bottleneck, [1, 2, 1, 1])),
            ExportFixtures.Scenes(4, 96), 96);

    [CaltechArchiveFact]
    public void Bundled_resnet18_matches_finetune_on_60_caltech_photographs() =>
        AssertParity(ExportFixtures.BundledCheckpoint(Tiny.TempFolder(), evalSize: 320), ExportFixtures.Photographs(60, 320), 320);

    [CaltechArchiveFact]
    public void Torchvision_layout_matches_finetune_on_60_caltech_photographs() =>
        AssertParity(ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 224), ExportFixtures.Photographs(60, 224), 224);

    [Fact]
    public void Metadata_names_classes_size_resize_backbone_weights_and_version()
    {
        var onnx = Export(ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 240, resize: FineTune.Config.EvalResize.CenterCrop));
        using var classifier = OnnxClassifier.Open(onnx);
        var m = classifier.Metadata;
        Assert.Equal(ExportFixtures.ClassNames, JsonSerializer.Deserialize<string[]>(m[OnnxModelFile.ClassNamesKey]));
        Assert.Equal("240", m[OnnxModelFile.InputSizeKey]);
        Assert.Equal("center_crop", m[OnnxModelFile.ResizeKey]);
        Assert.Equal("resnet18", m[OnnxModelFile.BackboneKey]);
        Assert.Equal("Basic [2, 2, 2, 2]", m[OnnxModelFile.ArchitectureKey]);
        Assert.Contains("model.weights: torchvision", m[OnnxModelFile.WeightsKey]);
        Assert.Equal(ExportSource.Version, m[OnnxModelFile.VersionKey]);
        Assert.Equal(FineTune.Data.ResizeMode.CenterCrop, classifier.Eval.Mode);
    }

    [PythonFact("onnx", "python3-onnx")]
    public void Onnx_checker_accepts_the_file_and_sees_a_dynamic_batch()
    {
        var onnx = Export(ExportFixtures.BundledCheckpoint(Tiny.TempFolder(), evalSize: 224));
        var script = "import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); "
                     + "i = m.graph.input[0]; print(i.name, i.type.tensor_type.shape.dim[0].dim_param, [d.dim_value for d in i.type.tensor_type.shape.dim[1:]], m.opset_import[0].version)";
        Assert.True(DebianPython.Run($"-c \"{script}\" {onnx}", out var text) == 0, text);
        output.WriteLine(text);
        Assert.Equal($"{OnnxModelFile.InputName} batch [3, 224, 224] {OnnxExport.Opset}", text.Trim().Split('\n')[^1]);
    }
}
