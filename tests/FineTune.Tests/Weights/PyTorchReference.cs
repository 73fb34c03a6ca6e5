using System.Diagnostics;
using System.Security.Cryptography;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>Debian's python3-torch/torchvision, used to make reference files; tests that need it skip, with the reason, without it.</summary>
static class PyTorchReference
{
    public const string Python = "/usr/bin/python3";

    static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} is absent (install python3-torch python3-torchvision with apt)";
        var (code, output) = Run("-c \"import torch, torchvision\"", TimeSpan.FromMinutes(2));
        return code == 0 ? null : $"{Python} cannot import torch/torchvision (apt-get install python3-torch python3-torchvision): {output.Trim().Split('\n')[^1]}";
    });

    /// <summary>Why PyTorch cannot be used, or null when it can.</summary>
    public static string? WhyUnavailable => Missing.Value;

    public static (int Code, string Output) Run(string arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(Python, arguments);
        info.Environment["OMP_NUM_THREADS"] = "2";
        var r = Processes.Run(info, timeout: timeout);
        return r.TimedOut ? (-1, $"timed out after {timeout}") : (r.Code, r.Out + r.Err);
    }

    public static void RunScript(string script, TimeSpan timeout)
    {
        var file = Path.Combine(TestRunFolder.New("py"), "script.py");
        File.WriteAllText(file, script);
        try
        {
            var (code, output) = Run($"\"{file}\"", timeout);
            if (code != 0) throw new InvalidOperationException($"{Python} failed ({code}): {output}");
        }
        finally { File.Delete(file); }
    }

    /// <summary>The repository root (the folder with tools/pytorch), found upwards from the test binaries.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "tools", "pytorch", "make_fixtures.py"))) return dir.FullName;
            throw new DirectoryNotFoundException($"No tools/pytorch/make_fixtures.py above {AppContext.BaseDirectory}.");
        }
    }

    static readonly Lazy<string> FixturesFolder = new(() =>
    {
        if (Environment.GetEnvironmentVariable("FINETUNE_PARITY_FIXTURES") is { Length: > 0 } given && File.Exists(Path.Combine(given, "manifest.json")))
            return given;
        // Keyed by the script's content, so an edited script makes fresh fixtures; the script renames its folder into place.
        var script = Path.Combine(RepoRoot, "tools", "pytorch", "make_fixtures.py");
        var key = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(script)))[..12];
        var folder = Path.Combine(Path.GetTempPath(), "finetune-parity-fixtures", key);
        if (!File.Exists(Path.Combine(folder, "manifest.json")))
        {
            var (code, output) = Run($"\"{script}\" \"{folder}\"", TimeSpan.FromMinutes(10));
            if (code != 0) throw new InvalidOperationException($"make_fixtures.py failed ({code}): {output}");
        }
        return folder;
    });

    /// <summary>The folder with the parity fixtures (FINETUNE_PARITY_FIXTURES, else generated once into the temp folder).</summary>
    public static string Fixtures => FixturesFolder.Value;
}
