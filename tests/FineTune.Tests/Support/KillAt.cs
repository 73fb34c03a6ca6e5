using System.Diagnostics;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>
/// Runs the real `finetune` and kills it with SIGKILL (what Process.Kill sends on Linux) as soon as
/// <c>moment</c> names what it sees on disk: a kill at the worst moment (a checkpoint half written, a dataset half
/// extracted) without any hook in the product. A poll every millisecond is enough: those moments last hundreds.
/// </summary>
static class KillAt
{
    /// <summary>How the program ended, and what <c>moment</c> saw when the kill was sent (null: it was never seen).</summary>
    public sealed record Outcome(ProcessResult Result, string? Seen);

    public static Outcome Run(string workDir, IReadOnlyDictionary<string, string> environment, Func<string?> moment, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(FinetuneProgram.Path)
        {
            WorkingDirectory = workDir, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        string? seen = null;
        while (!process.HasExited && clock.Elapsed < timeout && (seen = moment()) is null) Thread.Sleep(1);
        bool timedOut = !process.HasExited && seen is null;
        if (!process.HasExited) process.Kill();
        process.WaitForExit();
        return new(new ProcessResult(process.ExitCode, output.Result, error.Result, timedOut), seen);
    }
}
