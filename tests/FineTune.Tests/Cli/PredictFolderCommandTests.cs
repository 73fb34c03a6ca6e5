using FineTune.Tests.Prediction;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>`finetune predict FOLDER --out F.csv --report F.html` through the real program, with a checkpoint and with its ONNX export.</summary>
public class PredictFolderCommandTests
{
    [Fact]
    public void A_folder_with_a_broken_file_writes_both_files_says_so_in_one_line_and_exits_zero()
    {
        var photos = new PhotoFolder();
        var (csv, html) = (Path.Combine(photos.Root, "predictions.csv"), Path.Combine(photos.Root, "predictions.html"));

        var result = FinetuneProgram.Run(photos.Root, "predict", "--model_path", photos.Model, photos.Photos, "--out", csv, "--report", html, "--topk", "3");

        Assert.True(result.Code == 0, $"exit {result.Code}: {result.Err}");
        var line = Assert.Single(result.Out.TrimEnd('\n').Split('\n'));
        Assert.Equal($"Wrote {csv} and {html}: {photos.ImageCount} image(s); 1 could not be read (error rows in the CSV, listed in the page).", line);
        var rows = PhotoFolder.ReadCsv(csv);
        Assert.Equal(photos.ImageCount, rows.Count - 1);
        Assert.Equal(8, rows[0].Length); // path, 3 x (class, probability), error
        Assert.Equal(photos.ImageCount - 1, System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(html), @"<figure class=""pred""").Count);
    }

    [Fact]
    public void An_onnx_export_writes_the_same_classes_as_its_checkpoint()
    {
        var photos = new PhotoFolder();
        var onnx = Path.Combine(photos.Root, "model.onnx");
        FinetuneProgram.Run(photos.Root, "export", "--format", "onnx", "--model_path", photos.Model, "--output", onnx).Succeeded();
        var (fromCheckpoint, fromOnnx) = (Path.Combine(photos.Root, "ckpt.csv"), Path.Combine(photos.Root, "onnx.csv"));

        // Exports compute in fp32: the checkpoint is predicted in fp32 too, so like is compared with like on every CPU.
        FinetuneProgram.Run(photos.Root, "predict", "--model_path", photos.Model, "--precision", "fp32", photos.Photos, "--out", fromCheckpoint).Succeeded();
        FinetuneProgram.Run(photos.Root, "predict", "--model_path", onnx, photos.Photos, "--out", fromOnnx).Succeeded();

        var (expected, actual) = (PhotoFolder.ReadCsv(fromCheckpoint), PhotoFolder.ReadCsv(fromOnnx));
        Assert.Equal(photos.ImageCount + 1, actual.Count);
        Assert.Equal(expected.Select(r => r[0]), actual.Select(r => r[0]));
        for (int i = 1; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal(e[1], a[1]);
            if (e[^1].Length == 0) Assert.Equal(PhotoFolder.Number(e[2]), PhotoFolder.Number(a[2]), 4);
            else Assert.NotEqual("", a[^1]); // the broken file fails on ONNX Runtime's path too
        }
    }

    [Fact]
    public void Json_with_out_is_one_usage_line_and_writes_nothing()
    {
        var photos = new PhotoFolder();
        var csv = Path.Combine(photos.Root, "predictions.csv");
        var result = FinetuneProgram.Run(photos.Root, "predict", "--model_path", photos.Model, photos.Photos, "--out", csv, "--json");
        Assert.Equal(2, result.Code);
        Assert.Contains("--json", Assert.Single(result.Err.Trim().Split('\n')));
        Assert.False(File.Exists(csv));
    }
}
