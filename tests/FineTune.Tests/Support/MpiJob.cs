using System.Diagnostics;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>The built `finetune` program, run as one plain process or as N ranks under mpirun on this machine only.</summary>
static class MpiJob
{
    /// <summary>No test waits longer than this for a job: a hung job fails the test instead of hanging the suite.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("FINETUNE_MPI_TEST_BOUND_SECONDS"), out var s) && s > 0 ? s : 240);

    public static string? MpirunPath { get; } = FindOnPath("mpirun");

    // The test project references FineTune.Cli, so the program is built next to the test assembly.
    static string FinetuneDll => Path.Combine(AppContext.BaseDirectory, "finetune.dll");
    // tests/FineTune.MpiHost: the real TrainCommand and collectives with test-only inputs (NaN pixels on one rank, ...).
    public static string HostDll => Path.Combine(AppContext.BaseDirectory, "finetune-mpihost.dll");
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public sealed record Result(int ExitCode, string Output, bool TimedOut, bool Signalled = false);

    /// <summary>`finetune args` as one process, without MPI.</summary>
    public static Result RunSingle(params string[] args) => Run(Dotnet, [FinetuneDll, .. args]);

    /// <summary>`finetune args` as one process with extra environment variables.</summary>
    public static Result RunSingle(IReadOnlyDictionary<string, string> environment, params string[] args) => Run(Dotnet, [FinetuneDll, .. args], environment);

    /// <summary>`mpirun -np ranks dotnet finetune.dll args` on loopback (shared memory between the ranks).</summary>
    public static Result RunRanks(int ranks, params string[] args) => Run(MpirunPath!, Mpirun(ranks, [Dotnet, FinetuneDll, .. args]));

    /// <summary>`mpirun -np ranks dotnet finetune-mpihost.dll args`.</summary>
    public static Result RunHost(int ranks, params string[] args) => Run(MpirunPath!, Mpirun(ranks, [Dotnet, HostDll, .. args]));

    /// <summary>
    /// <see cref="RunRanks"/>, sending <paramref name="signal"/> (e.g. "USR1") to mpirun once a line containing
    /// <paramref name="after"/> has appeared; <see cref="Result.Signalled"/> says whether it was sent.
    /// </summary>
    public static Result RunRanksAndSignal(int ranks, string after, string signal, params string[] args) =>
        Run(MpirunPath!, Mpirun(ranks, [Dotnet, FinetuneDll, .. args]), signalAfter: (after, signal));

    static string[] Mpirun(int ranks, string[] command) =>
    [
        "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(),
        // Shared memory between local ranks, without the cross-process copy (CMA) that containers often forbid.
        "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none",
        "--mca", "oob_tcp_if_include", "lo",
        .. command,
    ];

    static Result Run(string program, string[] args, IReadOnlyDictionary<string, string>? environment = null, (string After, string Signal)? signalAfter = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        start.Environment["TERM"] = "dumb";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        bool signalled = false;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output)
            {
                output.AppendLine(e.Data);
                if (signalAfter is { } s && !signalled && e.Data.Contains(s.After, StringComparison.Ordinal))
                {
                    signalled = true;
                    using var kill = Process.Start("kill", [$"-{s.Signal}", process.Id.ToString()]);
                    kill.WaitForExit();
                }
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool exited = process.WaitForExit(Bound);
        if (!exited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        lock (output) return new Result(exited ? process.ExitCode : -1, output.ToString(), !exited, signalled);
    }

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
