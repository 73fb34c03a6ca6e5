using System.Globalization;
using System.Text.Json;
using FineTune.Tests.Cli;
using FineTune.Tests.Config;
using FineTune.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Export;

/// <summary>samples/OnnxClassify, built and run as a user would, classifies with an exported file as `finetune predict` does.</summary>
public sealed class SampleAppTests(ITestOutputHelper output)
{
    [Fact]
    public void Sample_builds_and_classifies_like_finetune_predict()
    {
        var dir = Tiny.TempFolder();
        var checkpoint = ExportFixtures.BundledCheckpoint(dir, evalSize: 224);
        var onnx = Path.Combine(dir, "model.onnx");
        FinetuneProgram.Run(dir, "export", "--format", "onnx", "--model_path", checkpoint, "--output", onnx).Succeeded();

        // Restores from the repository's package cache (ONNX Runtime and SkiaSharp are already there for the engine).
        var build = Run("dotnet", dir, "build", RepoFiles.Path("samples", "OnnxClassify", "OnnxClassify.csproj"), "-c", "Release", "-o", Path.Combine(dir, "sample"), "-v", "q", "-nologo");
        Assert.True(build.Code == 0, build.Out);

        // A PNG already at the model's size: both programs then feed identical pixels, so they must agree to rounding.
        var png = ExportImages.WriteSquarePng(Path.Combine(dir, "scene.png"), seed: 5, size: 224);
        var sample = Run("dotnet", dir, Path.Combine(dir, "sample", "OnnxClassify.dll"), onnx, png);
        Assert.True(sample.Code == 0, sample.Out);
        var lines = sample.Out.TrimEnd('\n').Split('\n').Select(l => l.Split('\t')).ToList();
        Assert.Equal(5, lines.Count);

        var predict = FinetuneProgram.Run(dir, "predict", "--model_path", onnx, png, "--json", "--topk", "5").Succeeded();
        using var json = JsonDocument.Parse(predict.Out);
        var expected = json.RootElement[0].GetProperty("predictions").EnumerateArray()
            .Select(p => (p.GetProperty("class").GetString(), p.GetProperty("probability").GetDouble())).ToList();
        output.WriteLine(sample.Out);
        Assert.Equal(expected.Select(e => e.Item1), lines.Select(l => l[0]));
        for (int i = 0; i < 5; i++)
            Assert.Equal(expected[i].Item2, double.Parse(lines[i][1], CultureInfo.InvariantCulture), tolerance: 1e-5);

        // Any other image size: the sample resizes it itself.
        var jpeg = ExportImages.Write(Path.Combine(dir, "more"), 2)[1];
        var other = Run("dotnet", dir, Path.Combine(dir, "sample", "OnnxClassify.dll"), onnx, jpeg);
        Assert.True(other.Code == 0, other.Out);
        Assert.All(other.Out.TrimEnd('\n').Split('\n'), l => Assert.Contains(l.Split('\t')[0], ExportFixtures.ClassNames));
    }

    static (int Code, string Out) Run(string program, string workDir, params string[] args)
    {
        var r = Processes.Run(program, args, workDir);
        return (r.Code, r.Out + r.Err);
    }
}
