using System.Text.Json;
using FineTune.Tests.Cli;
using FineTune.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Export;

/// <summary>`finetune predict --model_path model.onnx`: ONNX Runtime alone, the same answers as the checkpoint it came from.</summary>
public sealed class OnnxPredictTests(ITestOutputHelper output)
{
    static (string Checkpoint, string Onnx, List<string> Images) Exported(string dir)
    {
        var checkpoint = ExportFixtures.BundledCheckpoint(dir, evalSize: 256);
        var onnx = Path.Combine(dir, "model.onnx");
        FinetuneProgram.Run(dir, "export", "--format", "onnx", "--model_path", checkpoint, "--output", onnx).Succeeded();
        return (checkpoint, onnx, ExportImages.Write(Path.Combine(dir, "images"), 4));
    }

    static List<(string Path, List<(string Class, double Probability)> Top)> Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(image => (image.GetProperty("path").GetString()!,
            image.GetProperty("predictions").EnumerateArray().Select(p => (p.GetProperty("class").GetString()!, p.GetProperty("probability").GetDouble())).ToList()))];
    }

    [Fact]
    public void Onnx_file_gives_the_checkpoints_classes_and_probabilities()
    {
        var dir = Tiny.TempFolder();
        var (checkpoint, onnx, images) = Exported(dir);
        // The fixture's training.precision is auto, bf16 on a CPU where bf16 is fast, and exports are fp32 (ExportPrecisionNoteTests):
        // the checkpoint is predicted in fp32 so that like is compared with like on every CPU.
        var fromCheckpoint = FinetuneProgram.Run(dir, ["predict", "--model_path", checkpoint, "--precision", "fp32", "--json", "--topk", "3", .. images]).Succeeded();
        var fromOnnx = FinetuneProgram.Run(dir, ["predict", "--model_path", onnx, "--json", "--topk", "3", .. images]).Succeeded();

        var expected = Parse(fromCheckpoint.Out);
        var actual = Parse(fromOnnx.Out);
        Assert.Equal(images, actual.Select(a => a.Path));
        double worst = 0;
        for (int i = 0; i < images.Count; i++)
        {
            Assert.Equal(expected[i].Top.Select(t => t.Class), actual[i].Top.Select(t => t.Class));
            worst = Math.Max(worst, expected[i].Top.Zip(actual[i].Top, (e, a) => Math.Abs(e.Probability - a.Probability)).Max());
        }
        output.WriteLine($"largest probability difference over {images.Count} images x top-3: {worst:G3}");
        Assert.True(worst < 1e-4, $"probabilities differ by {worst:G3}");
        // The table reads the same, up to the last of its two decimals (a probability may sit on a rounding boundary).
        static string WithoutPercent(string table) => System.Text.RegularExpressions.Regex.Replace(table, @"\d+\.\d\d%", "%");
        var tableCheckpoint = FinetuneProgram.Run(dir, ["predict", "--model_path", checkpoint, "--precision", "fp32", .. images]).Succeeded();
        var tableOnnx = FinetuneProgram.Run(dir, ["predict", "--model_path", onnx, .. images]).Succeeded();
        Assert.Equal(WithoutPercent(tableCheckpoint.Out), WithoutPercent(tableOnnx.Out));
    }

    [Fact]
    public void Onnx_file_runs_without_libtorch()
    {
        var dir = Tiny.TempFolder();
        var (_, onnx, images) = Exported(dir);
        // The program's folder without libtorch, libc10 or LibTorchSharp: a run that touched TorchSharp's native side would fail.
        var program = Path.GetDirectoryName(typeof(OnnxPredictTests).Assembly.Location)!;
        var copy = Path.Combine(dir, "program");
        foreach (var file in Directory.EnumerateFiles(program, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(program, file);
            var name = Path.GetFileName(file);
            if (relative.StartsWith("DnnImageModels", StringComparison.Ordinal) || relative.StartsWith("Config", StringComparison.Ordinal)) continue;
            if (relative.StartsWith("runtimes", StringComparison.Ordinal) && name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal))
                if (!name.StartsWith("libonnxruntime", StringComparison.Ordinal) && !name.StartsWith("libSkiaSharp", StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(copy, relative))!);
            File.Copy(file, Path.Combine(copy, relative));
        }
        Assert.Empty(Directory.GetFiles(copy, "libtorch*", SearchOption.AllDirectories));

        var (code, text, err) = RunDotnet(dir, [Path.Combine(copy, "finetune.dll"), "predict", "--model_path", onnx, .. images]);
        Assert.True(code == 0, $"exit {code}\n{text}\n{err}");
        Assert.All(images, image => Assert.Contains(image, text));
        Assert.Contains(ExportFixtures.ClassNames, c => text.Contains(c, StringComparison.Ordinal));

        // The same copy cannot run a checkpoint: proof that the copy really lacks libtorch.
        var (code2, _, err2) = RunDotnet(dir, [Path.Combine(copy, "finetune.dll"), "predict", "--model_path", Path.Combine(dir, "bundled.ckpt"), images[0]]);
        output.WriteLine($"checkpoint without libtorch: exit {code2}: {err2.Split('\n')[0]}");
        Assert.NotEqual(0, code2);
    }

    static (int Code, string Out, string Err) RunDotnet(string workDir, string[] args)
    {
        var r = Processes.Run("dotnet", args, workDir);
        return (r.Code, r.Out, r.Err);
    }
}
