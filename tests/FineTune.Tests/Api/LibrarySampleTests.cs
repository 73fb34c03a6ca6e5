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
/// Both it and the three-line program of issue 22 start on an empty FINETUNE_HOME with the kernel check on and nothing
/// in Main for it: the check's probes run in the probe host the package copies beside them, not in the program.
/// </summary>
public sealed class LibrarySampleTests(ITestOutputHelper output)
{
    [Fact]
    public void The_packed_engine_builds_the_sample_which_trains_tests_and_predicts()
    {
        var dir = Tiny.TempFolder();
        // The engine's package depends on FineTune.Inference's at the same version: both go into the feed.
        using var packages = new LocalFeed(dir, "FineTune.Inference", "FineTune.Engine");
        var (version, feed) = (packages.Version, packages.Folder);

        // Outside the repository: no Directory.Build.props, no central versions, no project reference; the feed and the package cache only.
        var source = LocalFeed.CopySample(dir, "LibraryQuickstart");
        var build = Run("dotnet", source, null, "build", "-c", "Release", "-o", Path.Combine(dir, "app"), $"-p:FineTuneEngineVersion={version}",
            "--source", feed, "-v", "q", "-nologo");
        Assert.True(build.Code == 0, build.Out);
        var assets = File.ReadAllText(Path.Combine(source, "obj", "project.assets.json"));
        Assert.Contains($"finetune.engine/{version}", assets, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"finetune.inference/{version}", assets, StringComparison.OrdinalIgnoreCase);

        Assert.DoesNotContain("RunIfChild", File.ReadAllText(Path.Combine(source, "Program.cs")));
        Assert.True(File.Exists(Path.Combine(dir, "app", "finetune-probe.dll")), "the package's build targets copy the probe host beside the program");
        Assert.False(File.Exists(Path.Combine(dir, "app", "finetune")), "no finetune program to fall back on: the probe host alone runs the probes");

        var work = Path.Combine(dir, "work");
        var home = Path.Combine(dir, "home");
        var run = Run("dotnet", dir, CheckedOn(home), Path.Combine(dir, "app", "LibraryQuickstart.dll"), work);
        output.WriteLine(run.Out);
        Assert.True(run.Code == 0, run.Out);
        AssertKernelsChecked(home);
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

        // Issue 22's three lines, a new program against the package alone, on a machine whose kernel cache is empty.
        var three = Path.Combine(dir, "ThreeLines");
        Directory.CreateDirectory(three);
        File.WriteAllText(Path.Combine(three, "ThreeLines.csproj"), ThreeLinesProject(version));
        File.WriteAllText(Path.Combine(three, "Program.cs"), ThreeLinesProgram);
        var built = Run("dotnet", three, null, "build", "-c", "Release", "-o", Path.Combine(dir, "three"), "--source", feed, "-v", "q", "-nologo");
        Assert.True(built.Code == 0, built.Out);
        var freshHome = Path.Combine(dir, "fresh-home");
        var predicted = Run("dotnet", dir, CheckedOn(freshHome), Path.Combine(dir, "three", "ThreeLines.dll"), Line("outcome")[2], Line("image")[2]);
        output.WriteLine(predicted.Out);
        Assert.True(predicted.Code == 0, predicted.Out);
        AssertKernelsChecked(freshHome);
        var ranked = predicted.Out.Split('\n').Select(l => l.Split('\t')).Where(l => l.Length == 2 && classes.Contains(l[0])).ToList();
        Assert.Equal(file.Select(l => l[1]), ranked.Select(l => l[0]));
    }

    /// <summary>The kernel check on (whatever the test run says) with <paramref name="home"/> as its cache, which starts empty.</summary>
    static Dictionary<string, string?> CheckedOn(string home)
    {
        Directory.CreateDirectory(home);
        Assert.Empty(Directory.EnumerateFileSystemEntries(home));
        return new() { ["FINETUNE_HOME"] = home, ["FINETUNE_KERNEL_CHECK"] = null };
    }

    /// <summary>The check ran its probes (a skipped check writes no plan): every plan in the cache records probes run and time spent.</summary>
    static void AssertKernelsChecked(string home)
    {
        var plans = Directory.GetFiles(Path.Combine(home, "kernel-checks"), "*.json");
        Assert.NotEmpty(plans);
        foreach (var plan in plans)
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(plan));
            Assert.True(json.RootElement.GetProperty("ProbeCount").GetInt32() > 0, plan);
            Assert.True(json.RootElement.GetProperty("CheckSeconds").GetDouble() > 0, plan);
        }
    }

    static string ThreeLinesProject(string version) => $$"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="FineTune.Engine" Version="{{version}}" />
          </ItemGroup>
        </Project>
        """;

    // As the issue wrote it, but culture-proof.
    const string ThreeLinesProgram = """
        using FineTune;
        using var c = Classifier.Load(args[0]);
        foreach (var p in c.Predict(args[1], topK: 3)) Console.WriteLine(FormattableString.Invariant($"{p.ClassName}\t{p.Probability:F4}"));
        """;

    static (int Code, string Out) Run(string program, string workDir, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) psi.Environment.Remove(name); else psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + err.Result);
    }
}
