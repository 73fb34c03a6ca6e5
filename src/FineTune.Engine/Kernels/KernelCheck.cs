using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FineTune.IO;
using FineTune.Native;

namespace FineTune.Kernels;

/// <summary>
/// Verifies libtorch's CPU kernels on the machine they run on, before a run uses them, and chooses the fastest
/// configuration that computes right. Why: on some CPUs libtorch 2.10's oneDNN dies with SIGFPE planning the
/// backward pass of ResNet-50's strided 1x1 convolutions, or computes a channels-last 1x1 convolution wrong;
/// docs/platform.md and docs/kernel-check.md have the details.
///
/// Order of choices, fastest first: libtorch's own kernels; a route around each failing convolution shape
/// (<see cref="ConvRoute"/>); channels-last off; oneDNN capped at a lower instruction set (<see cref="OneDnnIsa.Fallbacks"/>).
/// The verdict is cached under $FINETUNE_HOME/kernel-checks, keyed by CPU, libtorch, oneDNN settings and probes.
/// </summary>
public static class KernelCheck
{
    const int Schema = 2; // 2: every element and gradient compared, eval-mode BatchNorm and the run's batches probed
    static readonly TimeSpan PerChild = TimeSpan.FromMinutes(3); // per probe: a hung kernel is a failed one

    public static string Folder => Path.Combine(FineTuneHome.Folder, "kernel-checks");

    /// <summary>
    /// Checks (or reads the cached verdict for) <paramref name="request"/>, applies its instruction-set cap to this
    /// process and returns the plan, whose <see cref="KernelPlan.Routing"/> the models are built with. Call it before
    /// libtorch runs anything: an instruction-set cap only takes effect before then. <paramref name="host"/>: the
    /// program that runs the probes, when not the one beside this program (the tests').
    /// </summary>
    public static KernelPlan Prepare(KernelRequest request, Action<string>? log = null, ProbeHost? host = null)
    {
        if (Environment.GetEnvironmentVariable("FINETUNE_KERNEL_CHECK") is "off" or "0")
            return KernelPlan.Unchecked("FINETUNE_KERNEL_CHECK=off");
        return Adopt(CachedOrChecked(request, log, host: host));
    }

    /// <summary><see cref="Prepare"/> as every job that runs a model starts it: its progress and then the plan in one line, on <paramref name="log"/>.</summary>
    public static KernelPlan PrepareAndReport(KernelRequest request, TextWriter log, ProbeHost? host = null)
    {
        var plan = Prepare(request, m => log.WriteLine(m), host);
        log.WriteLine(plan.Summary());
        return plan;
    }

    /// <summary>
    /// The cached verdict for <paramref name="request"/>, or a new check, cached. <paramref name="firstRound"/>: the
    /// request's probes already run with libtorch's own kernels (`finetune doctor` shows them first), so a new check
    /// does not run them again.
    /// </summary>
    public static KernelPlan CachedOrChecked(KernelRequest request, Action<string>? log, bool recheck = false,
                                             IReadOnlyList<ProbeResult>? firstRound = null, ProbeHost? host = null)
    {
        var path = CachePath(request, host);
        int escalation = Escalation(request);
        if (File.Exists(path) && !recheck)
        {
            try
            {
                var cached = JsonSerializer.Deserialize<KernelPlan>(File.ReadAllText(path), ProbeProcess.Json);
                if (cached is not null && cached.Escalation == escalation) return cached with { FromCache = true };
            }
            catch (JsonException) { /* a damaged cache entry is checked again */ }
        }
        log?.Invoke($"Kernels: checking libtorch's kernels on this CPU ({request.Probes().Count} probes, once per CPU and configuration)...");
        var plan = Search(request, escalation, host, firstRound);
        AtomicWrite.Text(path, JsonSerializer.Serialize(plan, ProbeProcess.Json));
        return plan;
    }

    /// <summary>
    /// Records that a run under the plan for <paramref name="request"/> ended without a word (see <see cref="RunMarker"/>):
    /// the next start checks again one step more conservatively. Returns the new step.
    /// </summary>
    public static int Escalate(KernelRequest request)
    {
        int next = Escalation(request) + 1;
        AtomicWrite.Text(EscalationPath(request), next.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return next;
    }

    /// <summary>
    /// Forgets every step-down on this machine (`finetune doctor --recheck`): once the cause of the deaths is fixed (or
    /// was never the kernels, say a kill -9 or the OOM killer), the next run checks from the fastest configuration again.
    /// Returns how many were cleared. A step-down is otherwise kept: a clean run at the lower plan proves nothing
    /// about the faster one it avoided.
    /// </summary>
    public static int ClearEscalations()
    {
        if (!Directory.Exists(Folder)) return 0;
        var files = Directory.GetFiles(Folder, "*.escalation");
        foreach (var f in files) File.Delete(f);
        return files.Length;
    }

    /// <summary>
    /// Applies <paramref name="plan"/>'s instruction-set cap (rank 0's plan, under MPI) to this process, as <see cref="Prepare"/>
    /// does with its own: every rank of a job computes with one plan. Call it before libtorch computes anything.
    /// </summary>
    public static KernelPlan Adopt(KernelPlan plan)
    {
        if (plan.Isa is not null) OneDnnIsa.Apply(plan.Isa);
        return plan;
    }

    static int Escalation(KernelRequest request) =>
        File.Exists(EscalationPath(request)) && int.TryParse(File.ReadAllText(EscalationPath(request)).Trim(), out var n) ? n : 0;

    static string EscalationPath(KernelRequest request) => Path.ChangeExtension(CachePath(request), ".escalation");

    /// <summary>
    /// The fastest configuration whose probes all agree with float64; escalation steps skip the fastest ones.
    /// <paramref name="host"/> runs the probes in place of the program beside this one (the tests' injects faults).
    /// <paramref name="firstRound"/>, when given, stands for the first run of the request's probes with libtorch's own
    /// kernels; it is used only when this search would start there (no escalation).
    /// </summary>
    public static KernelPlan Search(KernelRequest request, int escalation = 0, ProbeHost? host = null,
                                    IReadOnlyList<ProbeResult>? firstRound = null)
    {
        var clock = Stopwatch.StartNew();
        var probes = request.Probes();
        List<ProbeResult> Run(IEnumerable<Probe> ps, string? isa) => ProbeProcess.Run(ps.ToList(), isa, PerChild, host);
        bool asked = request.ChannelsLast;
        double givenSeconds = 0;
        KernelPlan Done(KernelPlan p, List<ProbeResult> findings) => p with
        {
            ChannelsLastAsked = asked,
            Findings = findings, ProbeCount = probes.Count, CheckSeconds = givenSeconds + clock.Elapsed.TotalSeconds,
            CheckedAt = DateTimeOffset.UtcNow, Cpu = CpuInfo.Current.ToString(), Escalation = escalation,
        };

        // Escalated after unexplained deaths: channels-last off and a lower instruction set, one step per death.
        var isaLadder = OneDnnIsa.Fallbacks.Where(l => OneDnnIsa.UserCap is null || OneDnnIsa.Rank(l) <= OneDnnIsa.Rank(OneDnnIsa.UserCap)).ToList();
        string? startIsa = escalation == 0 ? null : isaLadder[Math.Min(escalation - 1, isaLadder.Count - 1)];
        if (escalation > 0 && request.ChannelsLast) { request = request with { ChannelsLast = false }; probes = request.Probes(); }

        bool given = escalation == 0 && firstRound is not null && firstRound.Select(r => r.Probe).SequenceEqual(probes);
        var first = given ? firstRound!.ToList() : Run(probes, startIsa);
        if (given) givenSeconds = first.Sum(r => r.Seconds); // the check's time includes the round run before it
        var findings = first.Where(r => !r.Passed).ToList();
        var routes = new Dictionary<string, ConvRoute>();
        var unresolved = ChooseRoutes(findings, startIsa, Run, routes);
        bool bf16Ok = request.Bf16 && Fp32And(first, KernelDtype.Bf16, unresolved);
        if (!unresolved.Any(r => r.Probe.Dtype == KernelDtype.Fp32))
            return Done(new KernelPlan { Isa = startIsa, ChannelsLast = request.ChannelsLast, Bf16Verified = bf16Ok, Routes = routes }, findings);

        // Channels-last off: NCHW kernels are another family.
        if (request.ChannelsLast)
        {
            var nchw = request with { ChannelsLast = false };
            var nchwResults = Run(nchw.Probes(), startIsa);
            var nchwRoutes = new Dictionary<string, ConvRoute>();
            var left = ChooseRoutes(nchwResults.Where(r => !r.Passed).ToList(), startIsa, Run, nchwRoutes);
            if (!left.Any(r => r.Probe.Dtype == KernelDtype.Fp32))
                return Done(new KernelPlan { Isa = startIsa, ChannelsLast = false, Bf16Verified = request.Bf16 && Fp32And(nchwResults, KernelDtype.Bf16, left), Routes = nchwRoutes },
                    findings.Concat(nchwResults.Where(r => !r.Passed)).ToList());
            request = nchw;
        }

        // A lower instruction set for all of oneDNN.
        foreach (var isa in isaLadder.Where(l => startIsa is null || OneDnnIsa.Rank(l) < OneDnnIsa.Rank(startIsa)))
        {
            var results = Run(request.Probes(), isa);
            var capRoutes = new Dictionary<string, ConvRoute>();
            var left = ChooseRoutes(results.Where(r => !r.Passed).ToList(), isa, Run, capRoutes);
            if (!left.Any(r => r.Probe.Dtype == KernelDtype.Fp32))
                return Done(new KernelPlan { Isa = isa, ChannelsLast = request.ChannelsLast, Bf16Verified = request.Bf16 && Fp32And(results, KernelDtype.Bf16, left), Routes = capRoutes },
                    findings);
        }
        var worst = unresolved.First(r => r.Probe.Dtype == KernelDtype.Fp32);
        throw new KernelCheckException(
            $"libtorch's kernels fail on this CPU ({CpuInfo.Current.ModelName}) in every configuration tried, down to oneDNN ISA SSE41: {worst.Probe}: {worst.Detail}. Report it with the output of `finetune doctor`; FINETUNE_KERNEL_CHECK=off runs anyway, at your own risk.");
    }

    /// <summary>True when every probe of <paramref name="dtype"/> passed or was routed around.</summary>
    static bool Fp32And(List<ProbeResult> results, KernelDtype dtype, List<ProbeResult> unresolved) =>
        results.Any(r => r.Probe.Dtype == dtype) && !unresolved.Any(r => r.Probe.Dtype == dtype);

    /// <summary>
    /// For each failing convolution shape, the first alternative route that passes at every size it failed at.
    /// Returns the failures no route fixes (and every failure of another operation).
    /// </summary>
    static List<ProbeResult> ChooseRoutes(List<ProbeResult> failures, string? isa, Func<IEnumerable<Probe>, string?, List<ProbeResult>> run,
                                          Dictionary<string, ConvRoute> routes)
    {
        var convFailures = failures.Where(f => f.Probe.Shape.Op == ProbeOp.Conv).ToList();
        var unresolved = failures.Where(f => f.Probe.Shape.Op != ProbeOp.Conv).ToList();
        var tries = convFailures.SelectMany(f => f.Probe.Alternatives().Select(r => f.Probe with { Route = r })).ToList();
        var outcomes = run(tries, isa);
        foreach (var group in convFailures.GroupBy(f => KernelPlan.RouteKey(f.Probe.Shape, f.Probe.Layout, f.Probe.Dtype)))
        {
            var route = group.First().Probe.Alternatives()
                .Cast<ConvRoute?>()
                .FirstOrDefault(r => group.All(f => outcomes.Any(o => o.Passed && o.Probe == f.Probe with { Route = r!.Value })));
            if (route is { } chosen) routes[group.Key] = chosen;
            else unresolved.AddRange(group);
        }
        return unresolved;
    }

    static string CachePath(KernelRequest request, ProbeHost? host = null) => Path.Combine(Folder, $"{Key(request, host)}.json");

    /// <summary>What the verdict depends on: the CPU, libtorch's build, oneDNN's settings, the probes, the threads and a probe host other than ours.</summary>
    public static string Key(KernelRequest request, ProbeHost? host = null)
    {
        var cpu = CpuInfo.Current;
        var libtorch = typeof(TorchSharp.torch).Assembly.GetName().Version + " " + LibtorchFileSize();
        var settings = string.Join(",", Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("ONEDNN_", StringComparison.Ordinal) || k.StartsWith("DNNL_", StringComparison.Ordinal)
                        || k is "FINETUNE_KERNEL_CHECK_BATCH" or "OMP_NUM_THREADS")
            .Order(StringComparer.Ordinal).Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}"));
        var probes = JsonSerializer.Serialize(request.Probes(), ProbeProcess.Json);
        var text = $"{Schema}\n{cpu}\n{string.Join(' ', cpu.Flags)}\n{cpu.Stepping}\n{libtorch}\n{settings}\n{request.Threads}\n{probes}"
                   + (host is null ? "" : $"\nprobe host: {host}");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
        return $"{(request.Blocks.Count == 1 ? request.Blocks[0].ToString().ToLowerInvariant() : "resnets")}-{hash}";
    }

    static long LibtorchFileSize()
    {
        foreach (var dir in new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") })
        {
            var file = Path.Combine(dir, "libtorch_cpu.so");
            if (File.Exists(file)) return new FileInfo(file).Length;
        }
        return 0;
    }
}
