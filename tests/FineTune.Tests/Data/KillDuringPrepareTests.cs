using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using FineTune.Data.Archives;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>
/// `finetune data prepare` killed with SIGKILL while it extracts: no half dataset is ever taken for the whole one
/// (`finetune train` refuses the folder), and preparing again ends with exactly what a clean extraction gives.
/// </summary>
public class KillDuringPrepareTests(Xunit.Abstractions.ITestOutputHelper output)
{
    const int Classes = 6, PerClass = 300;
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    /// <summary>A Caltech-shaped tar.gz big enough that extracting it takes a while: random bytes do not compress.</summary>
    static string Archive(string dir)
    {
        var path = Path.Combine(dir, "101_ObjectCategories.tar.gz");
        var random = new Random(7);
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, $"{DatasetPreparer.ImageFolder}/"));
        for (int c = 0; c < Classes; c++)
            for (int i = 0; i < PerClass; i++)
            {
                var bytes = new byte[16 * 1024];
                random.NextBytes(bytes);
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{DatasetPreparer.ImageFolder}/class_{c}/image_{i:0000}.jpg") { DataStream = new MemoryStream(bytes) });
            }
        return path;
    }

    /// <summary>Every file under <paramref name="folder"/> by its relative path, with a hash of its bytes.</summary>
    static SortedDictionary<string, string> Content(string folder) =>
        new(Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);

    /// <summary>The first extracted file in a staging folder under <paramref name="outDir"/>, once there is one.</summary>
    static string? FirstExtracted(string outDir) =>
        Directory.Exists(outDir)
            ? Directory.EnumerateDirectories(outDir, ".prepare-*").SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)).FirstOrDefault()
            : null;

    [Fact]
    public void A_kill_while_extracting_leaves_nothing_train_would_use_and_preparing_again_gives_the_clean_result()
    {
        var root = TestFiles.TempDir("prepare-kill");
        var archive = Archive(root);
        var env = new Dictionary<string, string> { ["FINETUNE_HOME"] = Path.Combine(root, "home") };
        var clean = Path.Combine(root, "clean");
        FinetuneProgram.Run(root, env, "data", "prepare", "--archive", archive, "--out", clean).Succeeded();
        var expected = Content(Path.Combine(clean, DatasetPreparer.ImageFolder));
        Assert.Equal(Classes * PerClass, expected.Count);

        string outDir = "";
        bool inside = false;
        for (int attempt = 1; attempt <= 3 && !inside; attempt++)
        {
            outDir = Path.Combine(root, $"killed-{attempt}");
            var dir = outDir;
            var kill = KillAt.Run(root, env, () => FirstExtracted(dir), Limit, "data", "prepare", "--archive", archive, "--out", outDir);
            Assert.True(kill.Seen is not null, $"no extracted file was seen: exit {kill.Result.Code}\n{kill.Result.Out}\n{kill.Result.Err}");
            Assert.Equal(137, kill.Result.Code); // 128 + SIGKILL
            inside = !Directory.Exists(Path.Combine(outDir, DatasetPreparer.ImageFolder));
            output.WriteLine(inside
                ? $"attempt {attempt}: killed mid-extraction, {Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Length:N0} of {expected.Count:N0} files written under {string.Join(", ", Directory.GetDirectories(outDir).Select(Path.GetFileName))}"
                : $"attempt {attempt}: killed after the dataset was moved into place");
        }
        var leftovers = Directory.GetDirectories(outDir, ".prepare-*").Select(Path.GetFileName).ToList();

        // Training does not take the half for a dataset: the folder it reads does not exist until extraction is complete.
        File.WriteAllText(Path.Combine(root, "train.yaml"),
            $"data:\n  data_dir: {Path.Combine(outDir, DatasetPreparer.ImageFolder)}\nmodel:\n  num_classes: {Classes}\n" +
            $"experiment:\n  checkpoint_dir: {root}/ckpt\n  log_dir: {root}/logs\n");
        if (inside)
        {
            var train = FinetuneProgram.Run(root, env, "train", "--config", "train.yaml");
            output.WriteLine(train.Err.Trim());
            Assert.NotEqual(0, train.Code);
            Assert.Contains("does not exist: run `finetune data prepare`", train.Out + train.Err);
        }

        var again = FinetuneProgram.Run(root, env, "data", "prepare", "--archive", archive, "--out", outDir).Succeeded();
        output.WriteLine(again.Out.Trim());
        foreach (var leftover in leftovers) Assert.Contains(leftover!, again.Out);
        Assert.Equal([DatasetPreparer.ImageFolder], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName));
        Assert.Equal(expected, Content(Path.Combine(outDir, DatasetPreparer.ImageFolder)));
    }
}
