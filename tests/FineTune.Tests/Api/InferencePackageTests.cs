using FineTune.Config;
using FineTune.Export;
using FineTune.Models;
using FineTune.Tests.Export;
using FineTune.Tests.Training;
using FineTune.Tests.Weights;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Api;

/// <summary>
/// `dotnet pack` makes a FineTune.Inference package, and samples/InferenceQuickstart, copied out of the repository and
/// published framework-dependent against that package alone, classifies with an exported .onnx as the checkpoint does,
/// in a folder of at most 60 MB with no libtorch in it (issue 22: the same app against FineTune.Engine is 911 MB).
/// </summary>
[Collection(RestoresKernelPlan.Collection)]
public sealed class InferencePackageTests(ITestOutputHelper output) : RestoresKernelPlan
{
    const long MaxPublishBytes = 60L * 1000 * 1000;

    [Fact]
    public void The_packed_inference_package_publishes_a_small_app_that_answers_as_the_checkpoint()
    {
        var dir = Tiny.TempFolder();
        using var feed = new LocalFeed(dir, "FineTune.Inference");
        var source = LocalFeed.CopySample(dir, "InferenceQuickstart");
        var publish = Path.Combine(dir, "publish");
        Processes.Run("dotnet", ["publish", "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-o", publish,
            $"-p:FineTuneInferenceVersion={feed.Version}", "--source", feed.Folder, "-v", "q", "-nologo"], source).Succeeded();
        var assets = File.ReadAllText(Path.Combine(source, "obj", "project.assets.json"));
        Assert.Contains($"finetune.inference/{feed.Version}", assets, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("torchsharp", assets, StringComparison.OrdinalIgnoreCase);

        // The size of what a user ships, and nothing of libtorch in it.
        var files = Directory.GetFiles(publish, "*", SearchOption.AllDirectories);
        long bytes = files.Sum(f => new FileInfo(f).Length);
        output.WriteLine($"published framework-dependent linux-x64 app: {files.Length} files, {bytes / 1e6:F1} MB (bar {MaxPublishBytes / 1e6:F0} MB); largest: "
            + string.Join(", ", files.OrderByDescending(f => new FileInfo(f).Length).Take(3).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length / 1e6:F1} MB")));
        Assert.DoesNotContain(files, f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase));
        Assert.True(bytes <= MaxPublishBytes, $"the published app is {bytes / 1e6:F1} MB, over {MaxPublishBytes / 1e6:F0} MB");

        // An exported pretrained model (the bundled ResNet-18, seeded 7-class head) on real JPEGs and PNGs, plus
        // Caltech-101 photographs when the archive is at hand.
        var checkpoint = ExportFixtures.BundledCheckpoint(dir, evalSize: 224);
        var onnx = Path.Combine(dir, "model.onnx");
        ModelExport.Run(checkpoint, onnx, ExportFormat.Onnx, overwrite: false);
        var images = ExportImages.Write(Path.Combine(dir, "images"), 3);
        if (CaltechArchiveFactAttribute.Archive is { } archive && File.Exists(archive))
            images.AddRange(ParityImages.CaltechFiles(archive, 3, Path.Combine(dir, "photos")));
        var run = Processes.Run("dotnet", [Path.Combine(publish, "InferenceQuickstart.dll"), onnx, .. images], dir).Succeeded();
        output.WriteLine(run.Out);
        var top1 = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))
            .GroupBy(l => l[0]).ToDictionary(g => g.Key, g => g.First()[1]);

        using var engine = Classifier.Load(checkpoint, new ClassifierOptions { Precision = PrecisionSetting.Fp32 });
        var expected = engine.Predict(images, topK: 1);
        Assert.Equal(images.Count, top1.Count);
        foreach (var prediction in expected)
            Assert.Equal(prediction.TopK[0].ClassName, top1[prediction.Path]);
    }
}
