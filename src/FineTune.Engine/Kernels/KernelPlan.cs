using System.Text.Json.Serialization;
using FineTune.Models;

namespace FineTune.Kernels;

/// <summary>
/// The configuration the kernel check chose for this CPU: oneDNN's instruction-set cap (null: the CPU's own),
/// whether channels-last may be used, whether bf16 kernels were verified, and a route for every convolution
/// shape whose direct kernel failed. A model computes by it through <see cref="Routing"/>, given when the model is built.
/// </summary>
public sealed record KernelPlan
{
    public string? Isa { get; init; }
    public bool ChannelsLast { get; init; } = true;
    /// <summary>Whether the run asked for channels-last at all (a config with channels_last: false is checked in NCHW only).</summary>
    public bool ChannelsLastAsked { get; init; } = true;
    public bool Bf16Verified { get; init; }
    /// <summary>Route by <see cref="RouteKey"/> (kernel shape, layout, precision).</summary>
    public Dictionary<string, ConvRoute> Routes { get; init; } = [];
    /// <summary>The probes that failed with libtorch's own choice, for the start-up line and `finetune doctor`.</summary>
    public List<ProbeResult> Findings { get; init; } = [];
    public int ProbeCount { get; init; }
    public double CheckSeconds { get; init; }
    public DateTimeOffset CheckedAt { get; init; }
    public string Cpu { get; init; } = "";
    /// <summary>How many runs under this plan ended without a word (see <see cref="RunMarker"/>): each makes the next start more conservative.</summary>
    public int Escalation { get; init; }

    [JsonIgnore] public bool FromCache { get; init; }
    [JsonIgnore] public bool Checked { get; init; } = true;
    [JsonIgnore] public string? SkipReason { get; init; }
    [JsonIgnore] public bool HasRoutes => Routes.Count > 0;

    /// <summary>Before any check: libtorch's own choices everywhere.</summary>
    public static KernelPlan Unchecked(string reason) => new() { Checked = false, SkipReason = reason };

    public static string RouteKey(OpShape shape, Layout layout, KernelDtype dtype) => $"{shape.ConvKey} {layout} {dtype}";

    public ConvRoute RouteFor(OpShape shape, Layout layout, KernelDtype dtype) =>
        Routes.TryGetValue(RouteKey(shape, layout, dtype), out var route) ? route : ConvRoute.Direct;

    /// <summary>
    /// What a model built with it computes by: each convolution by its route here, channels-last where this plan allows
    /// it, the bf16 verdict for the precision choice. <paramref name="interceptor"/> wraps every convolution (the tests' faults).
    /// </summary>
    public KernelRouting Routing(IKernelInterceptor? interceptor = null) => new PlannedRouting(this, interceptor);

    /// <summary>This plan as text for the other processes of a job (rank 0 hands its plan to every rank), with what the cache leaves out.</summary>
    public string ToShared() => System.Text.Json.JsonSerializer.Serialize(new SharedPlan(this, Checked, SkipReason, FromCache), ProbeProcess.Json);

    /// <summary>The plan <see cref="ToShared"/> wrote, as the process that wrote it holds it.</summary>
    public static KernelPlan FromShared(string text)
    {
        var shared = System.Text.Json.JsonSerializer.Deserialize<SharedPlan>(text, ProbeProcess.Json)
            ?? throw new InvalidDataException("an empty kernel plan was handed over");
        return shared.Plan with { Checked = shared.Checked, SkipReason = shared.SkipReason, FromCache = shared.FromCache };
    }

    internal sealed record SharedPlan(KernelPlan Plan, bool Checked, string? SkipReason, bool FromCache);

    /// <summary>
    /// The check's word on bf16 for <see cref="Models.Precision.Resolve"/>: true verified, false failed, null not checked.
    /// <see cref="Bf16Verified"/> is false both where a bf16 probe failed and where none ran (bf16 asked for on the command
    /// line only); for <paramref name="bf16Asked"/> only a failed probe counts as failed, while auto keeps to fp32 either way.
    /// </summary>
    public bool? Bf16Verdict(bool bf16Asked) =>
        !Checked ? null : Bf16Verified ? true : bf16Asked && Bf16Failure is null ? null : false;

    /// <summary>A bf16 probe that failed, preferring one that no route fixed: the example a fallback to fp32 names.</summary>
    [JsonIgnore]
    public ProbeResult? Bf16Failure => Findings.Where(f => f.Probe.Dtype == KernelDtype.Bf16 && !f.Passed)
        .OrderBy(f => Routes.ContainsKey(RouteKey(f.Probe.Shape, f.Probe.Layout, f.Probe.Dtype))).FirstOrDefault();

    /// <summary>The one line every run prints: what was chosen, and why.</summary>
    public string Summary()
    {
        if (!Checked) return $"Kernels: libtorch's defaults, unchecked ({SkipReason}).";
        var parts = new List<string> { $"channels-last {(ChannelsLast ? "on" : ChannelsLastAsked ? "off (chosen by the check)" : "off (as configured)")}" };
        parts.AddRange(Routes.Select(r => $"{r.Key.Replace(" ChannelsLast", " channels-last").Replace(" Nchw", " nchw").Replace(" Fp32", " fp32").Replace(" Bf16", " bf16")} via {r.Value.ToString().ToLowerInvariant()}"));
        parts.Add($"oneDNN ISA {Isa ?? OneDnnIsa.UserCap ?? "the CPU's own"}");
        parts.Add($"bf16 kernels {(Bf16Verified ? "verified" : "not verified")}");
        var why = Findings.Count == 0
            ? $"all {ProbeCount} probes agree with float64"
            : $"{Findings.Count} of {ProbeCount} probes failed with libtorch's own kernels on this CPU, e.g. {Findings[0].Probe}: {Findings[0].Verdict.ToString().ToLowerInvariant()}, {Findings[0].Detail}";
        var when = FromCache ? $"checked {CheckedAt:yyyy-MM-dd HH:mm}, cached" : $"checked in {CheckSeconds:F1} s";
        var escalated = Escalation > 0 ? $"; made more conservative after {Escalation} run(s) ended without a word" : "";
        return $"Kernels: {string.Join("; ", parts)} ({why}; {when}{escalated}).";
    }
}
