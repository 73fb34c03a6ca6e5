using System.Diagnostics;
using System.Text;
using Xunit;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>What a finished process left: its exit code (-1 when it was killed for running too long) and its two streams.</summary>
sealed record ProcessResult(int Code, string Out, string Err, bool TimedOut = false)
{
    /// <summary>Asserts exit code 0, showing both streams otherwise.</summary>
    public ProcessResult Succeeded()
    {
        Assert.True(Code == 0, $"exit code {Code}\nstdout:\n{Out}\nstderr:\n{Err}");
        return this;
    }
}

/// <summary>
/// Runs a program to its end for a test: both streams read concurrently (a full pipe cannot block the child), optional
/// standard input, and a time limit after which the whole process tree is killed.
/// </summary>
static class Processes
{
    public static ProcessResult Run(string program, IEnumerable<string> args, string? workDir = null,
        IReadOnlyDictionary<string, string>? environment = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program);
        foreach (var a in args) start.ArgumentList.Add(a);
        if (workDir is not null) start.WorkingDirectory = workDir;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return Run(start, stdin, timeout);
    }

    /// <summary>Runs <paramref name="start"/> as it is set up (program, arguments, environment), redirecting its streams.</summary>
    public static ProcessResult Run(ProcessStartInfo start, string? stdin = null, TimeSpan? timeout = null)
    {
        start.UseShellExecute = false;
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.RedirectStandardInput = stdin is not null;
        if (stdin is not null) start.StandardInputEncoding = new UTF8Encoding(false);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        if (!process.WaitForExit(timeout ?? Timeout.InfiniteTimeSpan))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new ProcessResult(-1, output.Result, $"timed out after {timeout}\n{error.Result}", TimedOut: true);
        }
        process.WaitForExit(); // the streams are complete once the process has exited and its output is drained
        return new ProcessResult(process.ExitCode, output.Result, error.Result);
    }
}
