using FineTune.Benchmarks;
using Xunit;

namespace FineTune.Tests.Benchmarks;

/// <summary>`finetune bench` as a user runs it: the real program in its own process, on a tiny problem.</summary>
public class BenchCommandTests
{
    static readonly string[] Tiny = ["--models", "resnet18", "--batch", "2", "--size", "32", "--warmup", "0", "--steps", "1", "--threads", "1"];

    static (int Code, string Stdout, string Stderr) Bench(params string[] args)
    {
        var r = Processes.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "finetune.dll"), "bench", .. args], timeout: TimeSpan.FromMinutes(5));
        if (r.TimedOut) throw new TimeoutException($"finetune bench {string.Join(' ', args)} ran over 5 minutes");
        return (r.Code, r.Out, r.Err);
    }

    [Fact]
    public void Without_the_reference_it_prints_our_rows_and_says_why_PyTorch_is_missing()
    {
        var (code, stdout, stderr) = Bench([.. Tiny, "--no-reference", "--channels-last"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("not measured (--no-reference)", stdout);
        Assert.Matches(@"(?m)^resnet18\s+train\s+fp32\s+\|\s+\d", stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32\s+\|\s+\d", stdout);
        Assert.Contains("channels-last", stdout);
        Assert.Contains("heap:    ours: freed tensor memory kept mapped", stdout);
        // The measured fp32 peak, and each row in FLOPs and as a share of it (ResNet-18 at 32 px: 0.075 GFLOP an image forward).
        Assert.Matches(@"(?m)^peak:\s+[\d.]+ GFLOP/s fp32 on 1 threads \((512|256|128)-bit fused multiply-adds", stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32\s+\|\s+0\.08\s+\|\s+[\d.]+ \(\d+%\)\s+-$", stdout);
        Assert.Matches(@"(?m)^resnet18\s+train\s+fp32\s+\|\s+0\.23\s+\|\s+[\d.]+ \(\d+%\)\s+-$", stdout);
    }

    [Fact]
    public void A_python_without_torch_still_gives_our_figures_and_the_reason()
    {
        var (code, stdout, stderr) = Bench([.. Tiny, "--mode", "eval", "--nchw", "--default-heap", "--python", "/nonexistent/python3"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("PyTorch: not measured: /nonexistent/python3 could not be started", stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32\s+\|\s+\d", stdout);
        Assert.Contains("| NCHW |", stdout);
        Assert.Contains("heap:    ours: glibc default heap (FINETUNE_DEFAULT_HEAP=1)", stdout);
    }

    [PyTorchBenchFact]
    public void With_PyTorch_each_row_has_both_figures_a_ratio_and_both_peaks()
    {
        var (code, stdout, stderr) = Bench([.. Tiny, "--rounds", "2"]);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"PyTorch: torch \d+\.\d+", stdout); // PyTorch 1.x (Debian 12) or 2.x alike
        // model, mode | ours and PyTorch img/s (±n%), ratio | img/CPU-s of both, ratio | both peaks in GiB
        const string figures = @"\s+\|\s+[\d.]+ \(±\d+%\)\s+[\d.]+ \(±\d+%\)\s+[\d.]+x\s+\|\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+\|\s+[\d.]+G\s+[\d.]+G$";
        Assert.Matches(@"(?m)^resnet18\s+train\s+fp32" + figures, stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32" + figures, stdout);
        Assert.Contains("(round 2/2)", stderr);
    }

    [Fact]
    public void Both_precisions_give_their_own_rows_and_the_bf16_over_fp32_ratio()
    {
        var (code, stdout, stderr) = Bench([.. Tiny, "--no-reference", "--mode", "eval", "--precision", "fp32,bf16"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("Precision: fp32 (asked for)", stdout);
        Assert.Contains("Precision: bf16 (asked for", stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32\s+\|\s+\d", stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+bf16\s+\|\s+\d", stdout);
        Assert.Matches(@"(?m)^bf16 over fp32, resnet18 eval: ours [\d.]+x \((-|[\d.]+x) per CPU-s\)$", stdout);
    }

    [PyTorchBenchFact]
    public void PyTorch_runs_the_bf16_rows_under_autocast()
    {
        var (code, stdout, stderr) = Bench([.. Tiny, "--mode", "train", "--precision", "fp32,bf16"]);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"(?m)^resnet18\s+train\s+bf16\s+\|\s+[\d.]+ \(±\d+%\)\s+[\d.]+ \(±\d+%\)\s+[\d.]+x", stdout);
        Assert.Matches(@"(?m)^bf16 over fp32, resnet18 train: ours [\d.]+x \((-|[\d.]+x) per CPU-s\), PyTorch [\d.]+x \((-|[\d.]+x) per CPU-s\)$", stdout);
    }

    [PyTorchBenchFact]
    public void Reference_kept_heap_runs_PyTorch_with_the_heap_settings_ours_uses()
    {
        // A wrapper in front of the real python3 records the environment PyTorch's benchmark was started with.
        var dir = Directory.CreateTempSubdirectory("bench-heap-").FullName;
        var envFile = Path.Combine(dir, "env.txt");
        var wrapper = Path.Combine(dir, "python3");
        File.WriteAllText(wrapper, $"#!/bin/sh\nenv >> '{envFile}'\nexec {PyTorchReference.DefaultPython} \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var (code, stdout, stderr) = Bench([.. Tiny, "--mode", "eval", "--reference-kept-heap", "--python", wrapper]);
            Assert.True(code == 0, stderr);
            Assert.Contains("PyTorch: freed memory kept too", stdout);
            Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32\s+\|\s+[\d.]+ \(±\d+%\)\s+[\d.]+ \(", stdout);
            var env = File.ReadAllLines(envFile);
            Assert.Contains("MALLOC_MMAP_MAX_=0", env);
            Assert.Contains($"MALLOC_TRIM_THRESHOLD_={int.MaxValue}", env);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void End_to_end_says_what_it_loads_and_prints_the_rows()
    {
        var (code, stdout, stderr) = Bench("--data_dir", EndToEndTests.Folder.Value, "--models", "resnet18", "--mode", "eval", "--images", "8", "--batch", "4",
                                           "--size", "64", "--warmup", "0", "--steps", "1", "--threads", "1", "--workers", "1", "--no-reference");
        Assert.True(code == 0, stderr);
        Assert.Contains($"end to end: loader (1 worker) + model, 8 images from {EndToEndTests.Folder.Value} (2 classes)", stdout);
        Assert.Matches(@"(?m)^resnet18\s+eval\s+fp32\s+\|\s+\d", stdout);
    }

    [Fact]
    public void A_missing_data_folder_is_named_with_the_command_that_makes_it()
    {
        var (code, stdout, stderr) = Bench("--data_dir", "/nonexistent/caltech-101/101_ObjectCategories");
        Assert.Equal(1, code);
        Assert.Contains("Data folder '/nonexistent/caltech-101/101_ObjectCategories' not found", stderr);
        Assert.Contains("finetune data prepare", stderr);
        Assert.Empty(stdout);
    }

    [Theory]
    [InlineData(2, "--workers must be at least 1", "--data_dir", "/tmp", "--workers", "0")]
    [InlineData(2, "--images (8) must be at least --batch (32)", "--data_dir", "/tmp", "--images", "8")]
    [InlineData(1, "Unknown backbone 'resnet19'", "--models", "resnet19")]
    [InlineData(2, "--mode takes train, eval", "--mode", "fit")]
    [InlineData(2, "--steps must be at least 1", "--steps", "0")]
    [InlineData(2, "--eval-grad-mode takes no_grad or inference_mode", "--eval-grad-mode", "fast")]
    [InlineData(2, "Unknown option --stesp", "--stesp", "3")]
    [InlineData(2, "--channels-last and --nchw contradict", "--channels-last", "--nchw")]
    [InlineData(2, "--precision takes fp32, bf16, auto or a list such as fp32,bf16; got 'fp16'", "--precision", "fp32,fp16")]
    public void User_errors_end_in_one_line_naming_the_fix(int expectedCode, string message, params string[] args)
    {
        var (code, stdout, stderr) = Bench(args);
        Assert.Equal(expectedCode, code);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("finetune:"));
        Assert.Empty(stdout);
    }
}
