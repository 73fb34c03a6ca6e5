using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace FineTune.Benchmarks;

/// <summary>The PyTorch side could not be run or gave something we cannot read; the message says why.</summary>
public sealed class BenchmarkReferenceException(string message) : FineTuneException(message);

/// <summary>
/// PyTorch's side of the benchmark: tools/pytorch/bench_models.py, or bench_e2e.py end to end (both embedded
/// in this library, so an installed tool has them too), run by Debian's python3 with python3-torch and
/// python3-torchvision. One process per (model, mode), so that its peak RSS belongs to that row alone, as ours does.
/// </summary>
public sealed class PyTorchReference : IDisposable
{
    public const string DefaultPython = "/usr/bin/python3";
    const string ScriptResource = "bench_models.py", EndToEndResource = "bench_e2e.py";
    const int MissingTorchExitCode = 3;

    readonly string _python;
    readonly string _scriptDir;
    readonly string _script;
    readonly string _endToEndScript;

    /// <summary>"torch 1.13.1, torchvision 0.14.1" as the interpreter reports them.</summary>
    public string Versions { get; }

    PyTorchReference(string python, string versions)
    {
        _python = python;
        Versions = versions;
        _scriptDir = Directory.CreateTempSubdirectory("finetune-bench-").FullName;
        _script = Extract(ScriptResource);
        _endToEndScript = Extract(EndToEndResource); // imports bench_models from beside it
    }

    string Extract(string resource)
    {
        var path = Path.Combine(_scriptDir, resource);
        using var source = typeof(PyTorchReference).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded {resource} is missing from the build.");
        using var target = File.Create(path);
        source.CopyTo(target);
        return path;
    }

    /// <summary>
    /// The reference when <paramref name="python"/> can import torch and torchvision; otherwise null and
    /// <paramref name="whyMissing"/> says what is missing and how to get it.
    /// </summary>
    public static PyTorchReference? TryCreate(string python, out string whyMissing)
    {
        const string install = "install it with `sudo apt-get install python3-torch python3-torchvision` (Debian/Ubuntu)";
        var (code, stdout, stderr) = Run(python, ["-c", "import torch, torchvision; print(f'torch {torch.__version__}, torchvision {torchvision.__version__}')"], out var startError);
        if (startError is not null)
        {
            whyMissing = $"{python} could not be started ({startError}); {install}, or pass --python PATH.";
            return null;
        }
        if (code != 0)
        {
            whyMissing = $"{python} cannot import PyTorch ({LastLine(stderr)}); {install}.";
            return null;
        }
        whyMissing = "";
        return new PyTorchReference(python, stdout.Trim());
    }

    /// <summary>One row; end to end (bench_e2e.py, loading <paramref name="images"/> in every step) when they are given.</summary>
    public ThroughputResult Measure(string backbone, BenchmarkMode mode, BenchmarkSettings s, BenchmarkImages? images = null)
    {
        var args = images is null
            ? new List<string> { _script, "--models", backbone, "--modes", mode.ToString().ToLowerInvariant(), "--classes", Str(s.Classes) }
            : [_endToEndScript, "--model", backbone, "--mode", mode.ToString().ToLowerInvariant(),
               "--data_dir", Path.GetFullPath(images.DataDir), "--list", WriteList(images), "--workers", Str(s.Workers)];
        args.AddRange([
            "--batch", Str(s.Batch), "--size", Str(s.Size), "--warmup", Str(s.Warmup), "--steps", Str(s.Steps),
            "--threads", Str(s.EffectiveThreads), "--interop-threads", Str(s.InteropThreads),
            "--eval-grad-mode", s.EvalGradMode == EvalGradMode.InferenceMode ? "inference_mode" : "no_grad",
        ]);
        if (s.ChannelsLast && !s.ReferenceNchw) args.Add("--channels-last");
        if (s.Precision != Models.ComputePrecision.Fp32) args.AddRange(["--precision", Models.Precision.ToName(s.Precision)]);

        var (code, stdout, stderr) = Run(_python, args, out var startError, s.ReferenceKeptHeap ? Native.TensorMemory.KeptHeapEnvironment : null);
        if (startError is not null) throw new BenchmarkReferenceException($"{_python} could not be started ({startError}).");
        if (code != 0)
            throw new BenchmarkReferenceException(code == MissingTorchExitCode
                ? LastLine(stderr)
                : $"PyTorch's benchmark of {backbone} ({mode}) failed with exit code {code}: {LastLine(stderr)}");
        return Parse(stdout, backbone, mode, s.Batch);
    }

    /// <summary>Reads the script's JSON line: {"model", "mode", "step_s": [...], "cpu_s": [...], "peak_rss_bytes", ...}.</summary>
    public static ThroughputResult Parse(string stdout, string backbone, BenchmarkMode mode, int batch)
    {
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? throw new BenchmarkReferenceException($"PyTorch's benchmark of {backbone} ({mode}) printed nothing.");
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var steps = root.GetProperty("step_s").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var cpu = root.TryGetProperty("cpu_s", out var c) ? c.EnumerateArray().Select(e => e.GetDouble()).ToArray() : [];
            long? peak = root.TryGetProperty("peak_rss_bytes", out var p) ? p.GetInt64() : null;
            return new ThroughputResult(backbone, mode, batch, new StepTimes(steps, cpu), peak, PeakIsPerRow: true);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new BenchmarkReferenceException($"PyTorch's benchmark of {backbone} ({mode}) printed an unreadable result ({e.Message}): {line}");
        }
    }

    /// <summary>The images' paths relative to their folder, one a line, for bench_e2e.py's --list.</summary>
    string WriteList(BenchmarkImages images)
    {
        var list = Path.Combine(_scriptDir, "images.txt");
        File.WriteAllLines(list, images.Dataset.Samples.Select(sample => sample.RelativePath));
        return list;
    }

    static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, out string? startError,
                                                       IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        // The reference must not inherit thread settings meant for someone else; the script sets its own.
        info.Environment.Remove("OMP_NUM_THREADS");
        info.Environment.Remove("MKL_NUM_THREADS");
        try
        {
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            startError = null;
            return (process.ExitCode, stdout, stderr.Result);
        }
        catch (Win32Exception e)
        {
            startError = e.Message;
            return (-1, "", "");
        }
    }

    static string Str(int n) => n.ToString(CultureInfo.InvariantCulture);

    static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";

    public void Dispose()
    {
        try { Directory.Delete(_scriptDir, recursive: true); }
        catch (IOException) { /* a temp folder left behind is harmless */ }
    }
}
