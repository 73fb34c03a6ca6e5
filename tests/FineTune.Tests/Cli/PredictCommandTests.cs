using System.Text.Json;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>`finetune predict`: class names and probabilities from the checkpoint alone, one error line per unreadable file.</summary>
public class PredictCommandTests
{
    [Fact]
    public void A_folder_gives_a_table_block_per_image_and_an_error_line_for_a_corrupt_file()
    {
        var e = new FolderExperiment();
        var classes = e.Manifest.Classes;
        var folder = Path.Combine(e.DataDir, classes[1]);
        File.WriteAllBytes(Path.Combine(folder, "broken.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F']); // a JPEG cut short
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image, not named like one");
        // Moved away from its dataset: prediction needs only the checkpoint.
        var model = Path.Combine(e.Root, "elsewhere.ckpt");
        File.Copy(e.CheckpointPath, model);
        Directory.Delete(e.ExperimentDir, recursive: true);

        var result = FinetuneProgram.Run(e.Root, "predict", "--model_path", model, folder, "--topk", "2").Succeeded();

        var lines = result.Out.TrimEnd('\n').Split('\n');
        Assert.StartsWith("image", lines[0]);
        var images = Directory.GetFiles(folder).Where(f => !f.EndsWith(".txt", StringComparison.Ordinal) && !f.EndsWith("broken.jpg", StringComparison.Ordinal)).ToList();
        Assert.Equal(FolderExperiment.PerClass, images.Count);
        Assert.Equal(2 + 2 * images.Count + 1, lines.Length); // header, rule, two ranks per image, the error line
        var error = Assert.Single(lines, l => l.Contains("error:", StringComparison.Ordinal));
        Assert.Contains("broken.jpg", error);
        Assert.DoesNotContain("notes.txt", result.Out);
        foreach (var image in images) Assert.Contains(lines, l => l.StartsWith(image, StringComparison.Ordinal));
        Assert.All(lines.Skip(2).Where(l => !l.Contains("error:", StringComparison.Ordinal)),
            l => Assert.Contains(classes, c => l.Contains(c, StringComparison.Ordinal)));
        Assert.Contains("1 of 13 image(s) could not be classified", result.Err);
    }

    [Fact]
    public void Json_for_one_image_has_the_top_k_classes_with_probabilities()
    {
        var e = new FolderExperiment();
        var image = Path.Combine(e.DataDir, e.Manifest.Entries[0].Path);
        var result = FinetuneProgram.Run(e.Root, "predict", "--model_path", e.CheckpointPath, image, "--json").Succeeded();

        using var json = JsonDocument.Parse(result.Out);
        var only = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal(image, only.GetProperty("path").GetString());
        var predictions = only.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(FolderExperiment.Classes, predictions.Count); // --topk 5, but the model knows only 3 classes
        Assert.Equal(e.Manifest.Classes.Order(), predictions.Select(p => p.GetProperty("class").GetString()!).Order());
        var probabilities = predictions.Select(p => p.GetProperty("probability").GetDouble()).ToList();
        Assert.Equal(1.0, probabilities.Sum(), 4);
        Assert.Equal(probabilities.OrderDescending(), probabilities);
    }

    [Fact]
    public void Only_unreadable_files_exit_non_zero_and_a_missing_path_is_one_clear_line()
    {
        var e = new FolderExperiment();
        var corrupt = Path.Combine(e.Root, "corrupt.png");
        File.WriteAllText(corrupt, "plain text with a picture's name");
        var result = FinetuneProgram.Run(e.Root, "predict", "--model_path", e.CheckpointPath, corrupt, "--json");
        Assert.Equal(1, result.Code);
        using var json = JsonDocument.Parse(result.Out);
        Assert.True(Assert.Single(json.RootElement.EnumerateArray()).TryGetProperty("error", out _));

        result = FinetuneProgram.Run(e.Root, "predict", "--model_path", e.CheckpointPath, Path.Combine(e.Root, "no-such-image.jpg"));
        Assert.Equal(1, result.Code);
        Assert.Single(result.Err.Trim().Split('\n'));
        Assert.Contains("no-such-image.jpg", result.Err);
    }
}
