using System.Diagnostics;
using System.Globalization;
using FineTune.Comparison;
using FineTune.Data;
using FineTune.Tests.Config;
using FineTune.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Api;

/// <summary>
/// `dotnet pack` makes the FineTune.Engine package (and FineTune.Inference, which it depends on), and samples/LibraryQuickstart, copied out of the repository and built
/// against that package alone, fine-tunes, tests and classifies through the public API (a real run, a few minutes).
/// </summary>
public sealed class LibrarySampleTests(ITestOutputHelper output)
{
    [Fact]
    public void The_packed_engine_builds_the_sample_which_trains_tests_and_predicts()
    {
        var dir = Tiny.TempFolder();
        // The engine's package depends on FineTune.Inference's at the same version: both go into the feed.
        using var feed = new LocalFeed(dir, "FineTune.Inference", "FineTune.Engine");
        var source = LocalFeed.CopySample(dir, "LibraryQuickstart");
        var build = Run("dotnet", source, "build", "-c", "Release", "-o", Path.Combine(dir, "app"), $"-p:FineTuneEngineVersion={feed.Version}",
            "--source", feed.Folder, "-v", "q", "-nologo");
        Assert.True(build.Code == 0, build.Out);
        var assets = File.ReadAllText(Path.Combine(source, "obj", "project.assets.json"));
        Assert.Contains($"finetune.engine/{feed.Version}", assets, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"finetune.inference/{feed.Version}", assets, StringComparison.OrdinalIgnoreCase);

        var work = Path.Combine(dir, "work");
        var run = Run("dotnet", dir, Path.Combine(dir, "app", "LibraryQuickstart.dll"), work);
        output.WriteLine(run.Out);
        Assert.True(run.Code == 0, run.Out);
        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        string[] Line(string key) => lines.Single(l => l[0] == key);

        // Experiment.Train: a finished run and its best checkpoint.
        Assert.Equal("Completed", Line("outcome")[1]);
        Assert.True(File.Exists(Line("outcome")[2]));

        // Experiment.Test: well above chance (1/3) on three easy classes, and recorded in the run's results.json.
        double accuracy = double.Parse(Line("test_accuracy")[1], CultureInfo.InvariantCulture);
        Assert.InRange(accuracy, 0.6, 1.0);
        var results = ResultsFile.Read(Path.Combine(work, "checkpoints", "shapes", ResultsFile.FileName));
        Assert.Equal(accuracy, results.TestAccuracy);

        // Classifier: the image's own class first, probabilities in order; a stream of the same file gives the same answer.
        var classes = Enumerable.Range(0, 3).Select(c => SyntheticDataset.ClassName(c, 3)).ToList();
        var file = lines.Where(l => l[0] == "file").ToList();
        var stream = lines.Where(l => l[0] == "stream").ToList();
        Assert.Equal(3, file.Count);
        Assert.Equal(Line("image")[1], file[0][1]);
        Assert.Equal(classes.Order(), file.Select(l => l[1]).Order());
        var probabilities = file.Select(l => double.Parse(l[2], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(probabilities.OrderDescending(), probabilities);
        Assert.InRange(probabilities.Sum(), 0.999, 1.001);
        Assert.Equal(file.Select(l => l[1]), stream.Select(l => l[1]));
        for (int i = 0; i < 3; i++)
            Assert.Equal(probabilities[i], double.Parse(stream[i][2], CultureInfo.InvariantCulture), tolerance: 1e-5);
    }

    static (int Code, string Out) Run(string program, string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + err.Result);
    }
}
