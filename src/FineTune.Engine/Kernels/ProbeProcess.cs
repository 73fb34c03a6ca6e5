using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTune.Native;

namespace FineTune.Kernels;

/// <summary>
/// Runs probes in child processes (`finetune kernel-probe`): a kernel that dies with SIGFPE or SIGSEGV takes
/// the child with it, never the program that asked. The child announces each probe before running it, so a
/// death is pinned on that probe; the rest continue in a fresh child.
/// </summary>
public static class ProbeProcess
{
    public const string Command = "kernel-probe";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// For a program of your own that uses the engine (not `finetune`): call this first in Main, and return
    /// <paramref name="exitCode"/> when it says true. The kernel check runs its probes in a child process; with this
    /// call in place that child is your program started again with the probe arguments, which this runs.
    /// </summary>
    public static bool RunIfChild(string[] args, out int exitCode)
    {
        exitCode = 0;
        _entryRunsProbes = true;
        if (args is not [Command, "--probes", var file, "--from", var from, "--threads", var threads]) return false;
        exitCode = RunChild(file, int.Parse(from, System.Globalization.CultureInfo.InvariantCulture), int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>Whether this program's Main called <see cref="RunIfChild"/>, so it can be started as a probe child.</summary>
    static volatile bool _entryRunsProbes;

    /// <summary>The child's side: run probes[from..] from <paramref name="file"/>, one "BEGIN i" and one "RESULT i json" line each.</summary>
    public static int RunChild(string file, int from, int threads)
    {
        var probes = JsonSerializer.Deserialize<List<Probe>>(File.ReadAllText(file), Json)!;
        TorchNative.EnsureLoaded();
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
        var stdout = Console.Out;
        for (int i = from; i < probes.Count; i++)
        {
            stdout.WriteLine($"BEGIN {i}");
            stdout.Flush();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var result = ProbeRunner.Run(probes[i]);
            result = result with { Seconds = clock.Elapsed.TotalSeconds };
            stdout.WriteLine($"RESULT {i} {JsonSerializer.Serialize(result, Json)}");
            stdout.Flush();
        }
        return 0;
    }

    /// <summary>The parent's side: every probe's result, a crash pinned on the probe that was running; a child per thread count.</summary>
    public static List<ProbeResult> Run(IReadOnlyList<Probe> probes, string? isa, TimeSpan perChild,
                                        IReadOnlyDictionary<string, string>? environment = null)
    {
        var results = new ProbeResult[probes.Count];
        foreach (var group in probes.Select((probe, index) => (probe, index)).GroupBy(x => x.probe.Threads))
        {
            var part = RunOnThreads(group.Select(x => x.probe).ToList(), isa, group.Key, perChild, environment);
            foreach (var ((_, index), result) in group.Zip(part)) results[index] = result;
        }
        return results.ToList();
    }

    static List<ProbeResult> RunOnThreads(IReadOnlyList<Probe> probes, string? isa, int threads, TimeSpan perChild,
                                          IReadOnlyDictionary<string, string>? environment)
    {
        var results = new ProbeResult?[probes.Count];
        var file = Path.Combine(Path.GetTempPath(), $"finetune-probes-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        var pending = Enumerable.Range(0, probes.Count).ToList();
        try
        {
            while (pending.Count > 0)
            {
                File.WriteAllText(file, JsonSerializer.Serialize(pending.Select(i => probes[i]).ToList(), Json));
                var part = new ProbeResult?[pending.Count];
                var (running, exit, stderr) = RunOnce(file, 0, isa, threads, perChild, part, environment);
                for (int j = 0; j < part.Length; j++) if (part[j] is { } r) results[pending[j]] = r;
                if (running is null)
                {
                    if (part.Any(r => r is null))
                        throw new KernelCheckException($"the kernel check's child process ended (exit {exit}) before finishing its probes: {stderr.Trim()}");
                    break;
                }
                var died = probes[pending[running.Value]];
                results[pending[running.Value]] = new ProbeResult(died, ProbeVerdict.Crashed, double.NaN, Death(exit));
                // The same kernel at another size or batch would most likely die too, and each death costs a new child
                // (seconds). Routes are chosen per kernel shape, layout and precision, so this one gets a route anyway;
                // its other probes are failed unrun, which only makes the route search run each route at them too.
                foreach (var i in pending.Skip(running.Value + 1).Where(i => SameKernel(probes[i], died)))
                    results[i] = new ProbeResult(probes[i], ProbeVerdict.Crashed, double.NaN, $"not run: the same kernel killed the process on {died}");
                pending = pending.Skip(running.Value + 1).Where(i => results[i] is null).ToList();
            }
        }
        finally { File.Delete(file); }
        return results.Select(r => r!).ToList();
    }

    static bool SameKernel(Probe a, Probe b) =>
        a.Shape with { H = 0 } == b.Shape with { H = 0 } && (a.Layout, a.Dtype, a.Route) == (b.Layout, b.Dtype, b.Route);

    static string Death(int exit) => exit switch
    {
        -1 => "the process hung and was stopped",
        136 => "the process died with SIGFPE (exit 136)",
        139 => "the process died with SIGSEGV (exit 139)",
        134 => "the process aborted (SIGABRT, exit 134)",
        _ => $"the process died (exit {exit})",
    };

    /// <summary>One child: fills in results; returns the probe that was running when it died, if it died.</summary>
    static (int? Running, int Exit, string Stderr) RunOnce(string file, int from, string? isa, int threads, TimeSpan timeout, ProbeResult?[] results,
                                                            IReadOnlyDictionary<string, string>? environment)
    {
        var psi = ChildStart();
        foreach (var a in new[] { Command, "--probes", file, "--from", from.ToString(System.Globalization.CultureInfo.InvariantCulture),
                                  "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        if (isa is not null) psi.Environment[OneDnnIsa.Variable] = isa;
        psi.Environment["FINETUNE_KERNEL_CHECK"] = "off"; // the child runs probes, not a check of its own
        using var p = Process.Start(psi) ?? throw new KernelCheckException($"could not start {psi.FileName}");
        var stderr = p.StandardError.ReadToEndAsync();
        int? running = null;
        string? line;
        bool hung = false;
        // The clock restarts with every line: a probe that takes longer than the timeout counts as hung.
        while ((line = ReadLine(p, timeout, out hung)) is not null)
        {
            if (line.StartsWith("BEGIN ", StringComparison.Ordinal)) running = int.Parse(line[6..], System.Globalization.CultureInfo.InvariantCulture);
            else if (line.StartsWith("RESULT ", StringComparison.Ordinal))
            {
                var space = line.IndexOf(' ', 7);
                int index = int.Parse(line[7..space], System.Globalization.CultureInfo.InvariantCulture);
                results[index] = JsonSerializer.Deserialize<ProbeResult>(line[(space + 1)..], Json);
                running = null;
            }
        }
        if (hung) { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }
        p.WaitForExit();
        int exit = hung ? -1 : p.ExitCode;
        return (exit == 0 ? null : running, exit, stderr.Result);
    }

    /// <summary>The child's next line; null at its end, or when none came within <paramref name="timeout"/> (then <paramref name="hung"/>).</summary>
    static string? ReadLine(Process p, TimeSpan timeout, out bool hung)
    {
        var read = p.StandardOutput.ReadLineAsync();
        hung = !read.Wait(timeout);
        return hung ? null : read.Result;
    }

    /// <summary>
    /// How to start a probe child: the finetune apphost beside the engine, else `dotnet finetune.dll`, else (for a
    /// program that called <see cref="RunIfChild"/>) this program again.
    /// </summary>
    static ProcessStartInfo ChildStart()
    {
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "finetune.exe" : "finetune");
        if (File.Exists(apphost)) return new ProcessStartInfo(apphost);
        var dll = Path.Combine(dir, "finetune.dll");
        if (!File.Exists(dll) && _entryRunsProbes && System.Reflection.Assembly.GetEntryAssembly()?.Location is { Length: > 0 } entry)
            dll = entry;
        if (!File.Exists(dll))
            throw new KernelCheckException($"the finetune program was not found in {dir} to run the kernel check in: in a program of your own, call FineTune.Kernels.ProbeProcess.RunIfChild(args, out var code) first in Main (see samples/LibraryQuickstart), or set FINETUNE_KERNEL_CHECK=off to skip the check at your own risk.");
        var host = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var psi = new ProcessStartInfo(host);
        psi.ArgumentList.Add(dll);
        return psi;
    }
}

/// <summary>The kernel check could not run or found no usable configuration; the message says what to do.</summary>
public sealed class KernelCheckException(string message) : FineTuneException(message);
