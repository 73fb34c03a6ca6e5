using FineTune.Cli.Commands;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>
/// The real `finetune` program (the apphost next to the test assembly), run as a process: commands print to the
/// console and set exit codes, which in-process tests running in parallel could not observe safely.
/// </summary>
static class FinetuneProgram
{
    /// <summary>The built program's path (the test project references FineTune.Cli, so it sits beside the tests).</summary>
    public static readonly string Path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(typeof(TestCommand).Assembly.Location)!, "finetune");

    public static ProcessResult Run(string workDir, params string[] args) => Run(workDir, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Run(string, string[])"/>, with <paramref name="environment"/> added to the program's.</summary>
    public static ProcessResult Run(string workDir, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Processes.Run(Path, args, workDir, environment);
}
