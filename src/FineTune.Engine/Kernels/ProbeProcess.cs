using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTune.Native;

namespace FineTune.Kernels;

/// <summary>
/// Runs probes in child processes (`finetune kernel-probe`, or in any other program the probe host
/// <see cref="HostFile"/> that the package ships): a kernel that dies with SIGFPE or SIGSEGV takes
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

    /// <summary>The probe host shipped in the FineTune.Engine package; its build targets copy it beside the program.</summary>
    public const string HostFile = "finetune-probe.dll";

    /// <summary>
    /// Not needed any more: the kernel check runs its probes in <see cref="HostFile"/>, never in your program. Kept
    /// for programs that call it first in Main (return <paramref name="exitCode"/> when it says true): with it,
    /// such a program is the last resort for a probe child when neither `finetune` nor the probe host is beside it.
    /// </summary>
    public static bool RunIfChild(string[] args, out int exitCode)
    {
        exitCode = 0;
        _entryRunsProbes = true;
        if (!TryParseChild(args, out var file, out var from, out var threads)) return false;
        exitCode = RunChild(file, from, threads);
        return true;
    }

    /// <summary>The entry point of the probe host (<see cref="HostFile"/>), which finds it by name: not for your program.</summary>
    public static int RunHost(string[] args) => RunHost(args, null);

    /// <summary>
    /// <see cref="RunHost(string[])"/> with every probed operation through <paramref name="interceptor"/>: the entry point
    /// of a probe host of the tests' (<see cref="ProbeHost"/>), whose interceptor acts as a broken kernel.
    /// </summary>
    public static int RunHost(string[] args, IKernelInterceptor? interceptor)
    {
        if (TryParseChild(args, out var file, out var from, out var threads)) return RunChild(file, from, threads, interceptor);
        // Only the kernel check starts the host; the parent shows this line in its exception.
        Console.Error.WriteLine($"usage: dotnet {HostFile} {Command} --probes FILE --from N --threads T (started by the kernel check)");
        return 2;
    }

    static bool TryParseChild(string[] args, out string file, out int from, out int threads)
    {
        (file, from, threads) = ("", 0, 0);
        if (args is not [Command, "--probes", var f, "--from", var fromText, "--threads", var threadsText]) return false;
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        (file, from, threads) = (f, int.Parse(fromText, invariant), int.Parse(threadsText, invariant));
        return true;
    }

    /// <summary>Whether this program's Main called <see cref="RunIfChild"/>, so it can be started as a probe child.</summary>
    static volatile bool _entryRunsProbes;

    /// <summary>The child's side: run probes[from..] from <paramref name="file"/>, one "BEGIN i" and one "RESULT i json" line each.</summary>
    public static int RunChild(string file, int from, int threads, IKernelInterceptor? interceptor = null)
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
            var result = ProbeRunner.Run(probes[i], interceptor);
            result = result with { Seconds = clock.Elapsed.TotalSeconds };
            stdout.WriteLine($"RESULT {i} {JsonSerializer.Serialize(result, Json)}");
            stdout.Flush();
        }
        return 0;
    }

    /// <summary>
    /// The parent's side: every probe's result, a crash pinned on the probe that was running; a child per thread count,
    /// started from <paramref name="host"/> when given, else from the program beside this one (<see cref="ChildStart"/>).
    /// </summary>
    public static List<ProbeResult> Run(IReadOnlyList<Probe> probes, string? isa, TimeSpan perChild, ProbeHost? host = null)
    {
        var results = new ProbeResult[probes.Count];
        foreach (var group in probes.Select((probe, index) => (probe, index)).GroupBy(x => x.probe.Threads))
        {
            var part = RunOnThreads(group.Select(x => x.probe).ToList(), isa, group.Key, perChild, host);
            foreach (var ((_, index), result) in group.Zip(part)) results[index] = result;
        }
        return results.ToList();
    }

    static List<ProbeResult> RunOnThreads(IReadOnlyList<Probe> probes, string? isa, int threads, TimeSpan perChild, ProbeHost? host)
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
                var (running, exit, stderr) = RunOnce(file, 0, isa, threads, perChild, part, host);
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
                                                            ProbeHost? host)
    {
        var psi = ChildStart(host);
        foreach (var a in new[] { Command, "--probes", file, "--from", from.ToString(System.Globalization.CultureInfo.InvariantCulture),
                                  "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
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
    /// How to start a probe child: <paramref name="host"/> when given (the tests'), else the finetune apphost beside the engine (the CLI, its tests), else the probe host
    /// shipped in the package (any program), else `dotnet finetune.dll` (the .NET tool), else a program of your
    /// own that still calls <see cref="RunIfChild"/>.
    /// </summary>
    static ProcessStartInfo ChildStart(ProbeHost? host)
    {
        if (host is not null)
        {
            var start = new ProcessStartInfo(host.FileName);
            foreach (var a in host.Arguments) start.ArgumentList.Add(a);
            return start;
        }
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "finetune.exe" : "finetune");
        if (File.Exists(apphost)) return new ProcessStartInfo(apphost);
        if (HostStart(dir) is { } shipped) return shipped;
        var dll = Path.Combine(dir, "finetune.dll");
        if (!File.Exists(dll) && _entryRunsProbes && System.Reflection.Assembly.GetEntryAssembly()?.Location is { Length: > 0 } entry)
            dll = entry;
        if (!File.Exists(dll))
            throw new KernelCheckException(File.Exists(Path.Combine(dir, HostFile))
                ? $"the kernel check's probe host {HostFile} is in {dir}, but this program has no .deps.json and .runtimeconfig.json to start it with (a single-file or self-contained publish): publish framework-dependent without PublishSingleFile, or set FINETUNE_KERNEL_CHECK=off to skip the check at your own risk."
                : $"the kernel check's probe host {HostFile} was not found in {dir}: it comes with the FineTune.Engine package, whose build targets copy it to the build and publish output; reference the package from this program's project (not only from a library it uses) and rebuild, or set FINETUNE_KERNEL_CHECK=off to skip the check at your own risk.");
        var psi = new ProcessStartInfo(Muxer());
        psi.ArgumentList.Add(dll);
        return psi;
    }

    /// <summary>
    /// `dotnet exec` of the probe host with this program's own dependency and runtime files: the child resolves the same
    /// engine, TorchSharp and libtorch (from the same folders) as the program, and applies the same native-library fix.
    /// </summary>
    static ProcessStartInfo? HostStart(string dir)
    {
        var dll = Path.Combine(dir, HostFile);
        if (!File.Exists(dll)) return null;
        // The .NET host sets this to the program's .deps.json and then its frameworks', separated by ';' on every OS;
        // under `dotnet test` the first is the test project's.
        var deps = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?.Split(';')
            .FirstOrDefault(f => f.EndsWith(".deps.json", StringComparison.OrdinalIgnoreCase) && File.Exists(f));
        if (deps is null) return null;
        var runtimeConfig = deps[..^".deps.json".Length] + ".runtimeconfig.json";
        if (!File.Exists(runtimeConfig)) return null;
        var psi = new ProcessStartInfo(Muxer());
        foreach (var a in new[] { "exec", "--depsfile", deps, "--runtimeconfig", runtimeConfig, dll }) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>The `dotnet` that runs this process: itself, or the one above the shared runtime it loaded (a program started by its apphost).</summary>
    static string Muxer()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == name) return self;
        // .../dotnet/shared/Microsoft.NETCore.App/10.0.x/ -> .../dotnet/dotnet
        var root = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var beside = Path.Combine(root, name);
        return File.Exists(beside) ? beside : name;
    }
}

/// <summary>The kernel check could not run or found no usable configuration; the message says what to do.</summary>
public sealed class KernelCheckException(string message) : FineTuneException(message);
