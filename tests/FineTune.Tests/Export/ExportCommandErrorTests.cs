using System.IO.Compression;
using FineTune.Tests.Cli;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Export;

/// <summary>`finetune export` refusals: one clear line each, a non-zero exit, and no file (partial or temporary) left behind.</summary>
public sealed class ExportCommandErrorTests
{
    static readonly Lazy<string> Checkpoint = new(() => ExportFixtures.TorchvisionCheckpoint(Tiny.TempFolder(), evalSize: 64));

    static void AssertRefused(string dir, string[] args, string expected, string[]? keep = null)
    {
        var before = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order().ToList();
        var result = FinetuneProgram.Run(dir, args);
        Assert.Equal(1, result.Code);
        var line = Assert.Single(result.Err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("finetune: ", line);
        Assert.Contains(expected, line);
        Assert.Equal(before, Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order().ToList());
    }

    [Theory]
    [InlineData("onnx")]
    [InlineData("pth")]
    public void A_file_that_is_not_a_checkpoint_is_named(string format)
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "notes.ckpt"), "these are my notes, not a model");
        AssertRefused(dir, ["export", "--format", format, "--model_path", "notes.ckpt", "--output", "out." + format],
            "'notes.ckpt' is not a readable finetune checkpoint");
    }

    [Fact]
    public void A_truncated_checkpoint_is_named()
    {
        var dir = Tiny.TempFolder();
        var bytes = File.ReadAllBytes(Checkpoint.Value);
        File.WriteAllBytes(Path.Combine(dir, "cut.ckpt"), bytes[..(bytes.Length / 2)]);
        AssertRefused(dir, ["export", "--format", "onnx", "--model_path", "cut.ckpt", "--output", "out.onnx"], "'cut.ckpt' is not a readable finetune checkpoint");
    }

    [Fact]
    public void A_checkpoint_with_damaged_tensors_is_named()
    {
        var dir = Tiny.TempFolder();
        var damaged = Path.Combine(dir, "damaged.ckpt");
        File.Copy(Checkpoint.Value, damaged);
        using (var zip = ZipFile.Open(damaged, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("model.bin")!;
            byte[] model;
            using (var s = entry.Open()) { using var ms = new MemoryStream(); s.CopyTo(ms); model = ms.ToArray(); }
            entry.Delete();
            using var w = zip.CreateEntry("model.bin").Open();
            w.Write(model.AsSpan(0, model.Length / 3)); // the tensors stop a third of the way
        }
        AssertRefused(dir, ["export", "--format", "onnx", "--model_path", "damaged.ckpt", "--output", "out.onnx"], "'damaged.ckpt' holds model tensors that cannot be read");
    }

    [Theory]
    [InlineData("onnx")]
    [InlineData("pth")]
    public void An_output_that_cannot_be_written_is_named(string format)
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "afile"), "a file where a folder is expected");
        AssertRefused(dir, ["export", "--format", format, "--model_path", Checkpoint.Value, "--output", $"afile/model.{format}"],
            $"Cannot write 'afile/model.{format}': ");
    }

    [Theory]
    [InlineData("onnx", "model.onnx")]
    [InlineData("pth", "model.pth")]
    [InlineData("pth", "model.json")]
    public void An_existing_output_is_kept_unless_forced(string format, string existing)
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, existing), "keep me");
        var output = Path.ChangeExtension("model", format);
        AssertRefused(dir, ["export", "--format", format, "--model_path", Checkpoint.Value, "--output", output], $"'{existing}' already exists: pass --force");
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(dir, existing)));

        FinetuneProgram.Run(dir, "export", "--format", format, "--model_path", Checkpoint.Value, "--output", output, "--force").Succeeded();
        Assert.NotEqual("keep me", File.ReadAllText(Path.Combine(dir, existing)));
    }

    [Fact]
    public void An_unknown_format_is_a_usage_error()
    {
        var result = FinetuneProgram.Run(Tiny.TempFolder(), "export", "--format", "tflite", "--model_path", Checkpoint.Value);
        Assert.Equal(2, result.Code);
        Assert.Contains("--format takes pth or onnx; got 'tflite'", result.Err);
    }
}
