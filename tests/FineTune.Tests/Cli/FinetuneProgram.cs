using System.Diagnostics;
using FineTune.Cli.Commands;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>
/// The real `finetune` program (the apphost next to the test assembly), run as a process: commands print to the
/// console and set exit codes, which in-process tests running in parallel could not observe safely.
/// </summary>
static class FinetuneProgram
{
    static readonly string Program = Path.Combine(Path.GetDirectoryName(typeof(TestCommand).Assembly.Location)!, "finetune");

    public sealed record Result(int Code, string Out, string Err)
    {
        public Result Succeeded()
        {
            Assert.True(Code == 0, $"exit code {Code}\nstdout:\n{Out}\nstderr:\n{Err}");
            return this;
        }
    }

    public static Result Run(string workDir, params string[] args) => Run(workDir, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Run(string, string[])"/>, with <paramref name="environment"/> added to the program's.</summary>
    public static Result Run(string workDir, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo(Program) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, output, err.Result);
    }
}
