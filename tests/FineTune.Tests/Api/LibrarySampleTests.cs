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
/// `dotnet pack` makes a FineTune.Engine package, and samples/LibraryQuickstart, copied out of the repository and built
/// against that package alone, fine-tunes, tests and classifies through the public API (a real run, a few minutes).
/// </summary>
public sealed class LibrarySampleTests(ITestOutputHelper output)
{
    [Fact]
    public void The_packed_engine_builds_the_sample_which_trains_tests_and_predicts()
    {
        var dir = Tiny.TempFolder();
        // A version of its own, so the package cache never hands back an older build of this package.
        var version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var feed = Path.Combine(dir, "feed");
        try
        {
            var pack = Run("dotnet", dir, "pack", RepoFiles.Path("src", "FineTune.Engine", "FineTune.Engine.csproj"), "-c", configuration,
                $"-p:PackageVersion={version}", "-o", feed, "-v", "q", "-nologo");
            Assert.True(pack.Code == 0, pack.Out);
            Assert.True(File.Exists(Path.Combine(feed, $"FineTune.Engine.{version}.nupkg")), pack.Out);

            // Outside the repository: no Directory.Build.props, no central versions, no project reference; the feed and the package cache only.
            var source = Path.Combine(dir, "LibraryQuickstart");
            Directory.CreateDirectory(source);
            foreach (var name in new[] { "LibraryQuickstart.csproj", "Program.cs" })
                File.Copy(RepoFiles.Path("samples", "LibraryQuickstart", name), Path.Combine(source, name));
            var build = Run("dotnet", source, "build", "-c", "Release", "-o", Path.Combine(dir, "app"), $"-p:FineTuneEngineVersion={version}",
                "--source", feed, "-v", "q", "-nologo");
            Assert.True(build.Code == 0, build.Out);
            Assert.Contains($"finetune.engine/{version}", File.ReadAllText(Path.Combine(source, "obj", "project.assets.json")), StringComparison.OrdinalIgnoreCase);

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
        finally
        {
            // The package cache keeps every restored version; this one was for this test only.
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var restored = Path.Combine(cache, "finetune.engine", version);
            if (Directory.Exists(restored)) Directory.Delete(restored, recursive: true);
        }
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
