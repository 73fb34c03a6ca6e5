using SkiaSharp;
using Xunit.Abstractions;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>
/// `finetune train --config F` on a folder of photos laid out wrongly: each gets one `finetune:` line naming the folder
/// (and the class or file) and the fix, exit code 1, and leaves no experiment or log folder behind; a folder with a few
/// unreadable files trains, naming each of them once.
/// </summary>
public sealed class BadFolderTests(ITestOutputHelper log)
{
    readonly string _root = TestFiles.TempDir("badfolder");
    string Data => Path.Combine(_root, "PHOTOS");
    string Checkpoints => Path.Combine(_root, "ckpt");
    string Logs => Path.Combine(_root, "logs");

    void Images(string classFolder, int count)
    {
        for (int i = 0; i < count; i++)
            TestFiles.Write(Data, $"{classFolder}/img{i:00}.jpg", TestFiles.Encode(36 + i, 30, new SKColor((byte)(classFolder.Length * 40), (byte)(i * 20), 90)));
    }

    ProcessResult Train(int numClasses, string ratios = "")
    {
        var config = Path.Combine(_root, "photos.yaml");
        File.WriteAllText(config,
            $"data:\n  data_dir: {Data}\n  batch_size: 4\n  num_workers: 1\n  image_size: 32\n{ratios}" +
            $"model:\n  backbone: resnet18\n  pretrained: false\n  num_classes: {numClasses}\n" +
            "training:\n  num_epochs: 1\n  threads: 1\n  precision: fp32\n" +
            $"experiment:\n  name: photos\n  checkpoint_dir: {Checkpoints}\n  log_dir: {Logs}\n  export_pytorch: false\n");
        return FinetuneProgram.Run(_root, new Dictionary<string, string> { ["FINETUNE_HOME"] = Path.Combine(_root, "home") },
            "train", "--config", config);
    }

    /// <summary>Exit 1 with one `finetune:` line holding every fragment, and nothing written under the output folders.</summary>
    string Refused(ProcessResult run, params string[] fragments)
    {
        Assert.True(run.Code == 1, $"exit code {run.Code}\nstdout:\n{run.Out}\nstderr:\n{run.Err}");
        var line = Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        log.WriteLine(line);
        Assert.StartsWith("finetune: ", line);
        foreach (var f in fragments) Assert.Contains(f, line);
        Assert.False(Directory.Exists(Checkpoints), $"a refused run left {Checkpoints}");
        Assert.False(Directory.Exists(Logs), $"a refused run left {Logs}");
        return line;
    }

    [Fact]
    public void Only_one_class_is_refused_saying_a_classifier_needs_two()
    {
        Images("cat", 6);
        Refused(Train(numClasses: 2), $"'{Data}'", "'cat'", "at least 2 classes");
    }

    [Fact]
    public void A_class_too_small_for_the_configured_split_says_how_many_it_has_and_needs()
    {
        Images("cat", 8);
        Images("dog", 4);
        // 0.9/0.05/0.05: the least class that gives each split an image is 6 (5 rounds to 5 for train and leaves test none).
        var line = Refused(Train(2, "  train_size: 0.9\n  val_size: 0.05\n  test_size: 0.05\n"), "'dog'", "has 4", "at least 6", "0.9/0.05/0.05");
        Assert.DoesNotContain("'cat'", line);
    }

    [Theory]
    [InlineData(false)] // class folders with nothing in them
    [InlineData(true)] // class folders holding only files that are not images
    public void No_images_at_all_says_which_files_are_read(bool otherFiles)
    {
        Directory.CreateDirectory(Path.Combine(Data, "cat"));
        Directory.CreateDirectory(Path.Combine(Data, "dog"));
        if (otherFiles) TestFiles.Write(Data, "cat/notes.txt", "not a photo"u8.ToArray());
        var line = Refused(Train(2), $"'{Data}'", "has no", "image", ".jpg", ".png", "JPEG");
        Assert.Contains(otherFiles ? "cat/notes.txt" : "cat, dog", line);
    }

    [Theory]
    [InlineData("wrapped")] // PHOTOS/dataset/cat/*.jpg
    [InlineData("presplit")] // PHOTOS/train/cat/*.jpg and PHOTOS/val/cat/*.jpg
    public void Images_one_level_too_deep_name_the_layout_and_the_folder_to_pass(string layout)
    {
        if (layout == "wrapped")
        {
            Images("dataset/cat", 6);
            Images("dataset/dog", 6);
            Refused(Train(2), "'dataset'", "cat", "dog", $"'{Path.Combine(Data, "dataset")}'");
        }
        else
        {
            foreach (var part in new[] { "train", "val" })
            {
                Images($"{part}/cat", 6);
                Images($"{part}/dog", 6);
            }
            Refused(Train(2), "'train'", "'val'", "cat", "dog", $"'{Path.Combine(Data, "train")}'");
        }
    }

    [Fact]
    public void Class_names_that_differ_only_by_case_are_refused_naming_both()
    {
        Images("Cat", 6);
        Images("cat", 6);
        Images("dog", 6);
        Refused(Train(3), "'Cat'", "'cat'", "case");
    }

    [Fact]
    public void Unreadable_images_are_named_once_and_the_run_trains()
    {
        Images("cat", 6);
        Images("dog", 6);
        TestFiles.Write(Data, "cat/truncated.jpg", ImageDecoderTests.Broken("truncated"));
        TestFiles.Write(Data, "dog/notes.jpg", ImageDecoderTests.Broken("text"));
        var run = Train(2).Succeeded();
        var all = run.Out + run.Err;
        log.WriteLine(all);
        foreach (var bad in new[] { "cat/truncated.jpg", "dog/notes.jpg" })
            Assert.True(all.Split(bad).Length == 2, $"{bad} should be named exactly once:\n{all}");
        Assert.True(File.Exists(Path.Combine(Checkpoints, "photos", "checkpoint_best.ckpt")), all);
    }
}
