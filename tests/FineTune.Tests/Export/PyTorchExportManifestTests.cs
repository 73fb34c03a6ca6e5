using System.Globalization;
using System.Text.Json;
using FineTune.Config;
using FineTune.Export;
using FineTune.Tests.Config;
using FineTune.Tests.Training;
using FineTune.Tests.Weights;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;
using FineTune.Training.Checkpoints;

namespace FineTune.Tests.Export;

/// <summary>
/// `finetune export` (pth): the state dict plus its JSON, loaded by tools/pytorch/load_export.py in Debian's PyTorch 1.13
/// (torchvision's ResNet class, PIL, the JSON's preprocessing), gives FineTune's logits within 1e-4 of the largest.
/// The images are PNGs already at the evaluation size, so both sides decode the same pixels and resize nothing.
/// </summary>
public sealed class PyTorchExportManifestTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    void AssertParity(string checkpoint, List<(string Name, float[] Rgb)> images, int size)
    {
        var dir = Path.GetDirectoryName(checkpoint)!;
        var pth = Path.Combine(dir, "model.pth");
        var written = ModelExport.Run(checkpoint, pth, ExportFormat.Pth, overwrite: false);
        Assert.Equal([pth, Path.Combine(dir, "model.json")], written);

        var files = images.Select((image, i) => WritePng(Path.Combine(dir, $"image{i:D3}.png"), image.Rgb, size)).ToList();
        var expected = ExportFixtures.FineTuneLogits(checkpoint, [.. images.Select(i => i.Rgb)], size);

        var script = RepoFiles.Path("tools", "pytorch", "load_export.py");
        var code = DebianPython.Run($"{script} {pth} {string.Join(' ', files)} --json --topk 1", out var text);
        Assert.True(code == 0, text);
        using var document = JsonDocument.Parse(text[text.IndexOf('[')..]);
        var results = document.RootElement.EnumerateArray().ToList();
        var actual = results.Select(r => r.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.Equal(ExportFixtures.ClassNames.Length, actual[0].Length);

        var (relative, largest, mismatches) = ExportFixtures.Compare(expected, actual);
        output.WriteLine($"{Path.GetFileName(checkpoint)}: {images.Count} images at {size} px; largest |PyTorch - FineTune| / largest |logit| ({largest:G4}) = {relative:G3} (bar {Tolerance}); top-1 differs on {mismatches}");
        Assert.True(relative <= Tolerance, $"relative logit difference {relative:G3} exceeds {Tolerance}");
        Assert.Equal(0, mismatches);
    }

    /// <summary>RGB 0..1 (exact multiples of 1/255) as an 8-bit PNG: lossless, so both sides read the same bytes.</summary>
    static string WritePng(string path, float[] rgb, int size)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan().ToArray();
        int plane = size * size;
        for (int i = 0; i < plane; i++)
        {
            for (int c = 0; c < 3; c++) pixels[4 * i + c] = (byte)Math.Round(rgb[c * plane + i] * 255);
            pixels[4 * i + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [PythonFact("torch, torchvision, PIL", "python3-torch python3-torchvision python3-pil")]
    public void Bundled_resnet18_loads_with_its_four_block_layer4_and_matches_finetune() =>
        AssertParity(ExportFixtures.BundledCheckpoint(Tiny.TempFolder(), evalSize: 256), ExportFixtures.Scenes(4, 256), 256);

    [PythonFact("torch, torchvision, PIL", "python3-torch python3-torchvision python3-pil")]
    public void Torchvision_layout_loads_and_matches_finetune() =>
        AssertParity(ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 224, resize: EvalResize.Stretch), ExportFixtures.Scenes(4, 224), 224);

    [PythonFact("torch, torchvision, PIL", "python3-torch python3-torchvision python3-pil")]
    public void Bottleneck_blocks_load_and_match_finetune() =>
        AssertParity(ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 96, resize: EvalResize.Stretch,
            architecture: new FineTune.Models.ResNetArchitecture(FineTune.Models.BlockKind.Bottleneck, [1, 2, 1, 1])), ExportFixtures.Scenes(3, 96), 96);

    [CaltechPyTorchFact]
    public void Bundled_resnet18_matches_finetune_on_50_caltech_photographs() =>
        AssertParity(ExportFixtures.BundledCheckpoint(Tiny.TempFolder(), evalSize: 320), ExportFixtures.Photographs(50, 320), 320);

    [Fact]
    public void Manifest_says_block_layers_preprocessing_eval_resize_and_classes()
    {
        var checkpoint = ExportFixtures.BundledCheckpoint(Tiny.TempFolder(), evalSize: 288);
        var pth = Path.ChangeExtension(checkpoint, ".pth");
        ModelExport.Run(checkpoint, pth, ExportFormat.Pth, overwrite: false);
        using var json = JsonDocument.Parse(File.ReadAllText(PyTorchManifest.PathFor(pth)));
        var root = json.RootElement;
        Assert.Equal("BasicBlock", root.GetProperty("architecture").GetProperty("block").GetString());
        Assert.Equal([2, 2, 2, 3], root.GetProperty("architecture").GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(ExportFixtures.ClassNames, root.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));
        var p = root.GetProperty("preprocessing");
        Assert.Equal("BGR", p.GetProperty("channel_order").GetString());
        Assert.Equal(255f, p.GetProperty("pixel_scale").GetSingle());
        Assert.Equal(3 * 288 * 288 * 4, Convert.FromBase64String(p.GetProperty("mean_image").GetProperty("base64").GetString()!).Length);
        Assert.Equal(288, root.GetProperty("eval").GetProperty("size").GetInt32());
        Assert.Equal("stretch", root.GetProperty("eval").GetProperty("resize").GetString());
        Assert.Equal("bundled.pth", root.GetProperty("state_dict").GetString());
    }
}

/// <summary>Training's own checkpoint_best.pth (experiment.export_pytorch) comes with its JSON, which load_export.py reads.</summary>
public sealed class TrainerPyTorchExportTests
{
    [PythonFact("torch, torchvision, PIL", "python3-torch python3-torchvision python3-pil")]
    public void Best_pth_has_its_manifest_and_loads_in_pytorch()
    {
        var root = Tiny.TempFolder();
        var config = Tiny.Config(root, epochs: 1);
        config = config with { Experiment = config.Experiment with { ExportPytorch = true } };
        new FineTune.Training.Trainer(config, new FineTune.Training.ModelToTrain(Tiny.Model(), FineTune.Weights.Preprocessing.ImageNet), Tiny.Data(config), FineTune.Training.RunContext.Silent()).Run(null);
        var pth = Path.Combine(root, "ckpt", "tiny", "checkpoint_best.pth");
        Assert.True(File.Exists(PyTorchManifest.PathFor(pth)), "checkpoint_best.json is missing");
        var png = ExportImages.WriteSquarePng(Path.Combine(root, "scene.png"), seed: 3, size: 32);
        var code = DebianPython.Run($"{RepoFiles.Path("tools", "pytorch", "load_export.py")} {pth} {png} --topk 1", out var text);
        Assert.True(code == 0, text);
        Assert.Contains("scene.png", text);
    }
}
