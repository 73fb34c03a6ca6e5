using FineTune.Kernels;
using FineTune.Models;
using FineTune.MpiHost;
using Xunit;

namespace FineTune.Tests.Kernels;

/// <summary>
/// The kernel check against injected faults (<see cref="FaultyKernels"/> in its child processes, the tests' probe host): a wrong result and a
/// crash must both be found, pinned on their probe, and change the configuration chosen. Real probe processes,
/// real libtorch kernels; only the fault is injected, where a broken oneDNN kernel would act.
/// </summary>
public class KernelCheckTests
{
    // ResNet-18's shapes at 32 px, batch 2, channels-last, fp32: a few seconds of probes.
    static readonly KernelRequest Small = new([BlockKind.Basic], 32, 2, 32, 2, 5, ChannelsLast: true, Training: true, Bf16: false, Threads: 1);

    static ProbeHost Fault(string spec) => FaultyKernels.ProbeHost(spec);

    // This CPU's own faults: what the check finds with nothing injected. A real CPU may have some (an AMD EPYC of family
    // 26 gets 1x1 256->512 s2 channels-last wrong and dies on some 1x1 s2 backward kernels: docs/platform.md), so each
    // test sets them aside and asserts on what the injected fault adds. Computed once per request (a few seconds).
    static readonly Lazy<KernelPlan> SoundSmall = new(() => KernelCheck.Search(Small));
    static readonly Lazy<KernelPlan> SoundTwoThreads = new(() => KernelCheck.Search(Small with { Threads = 2 }));

    /// <summary>The findings of <paramref name="plan"/> that <paramref name="sound"/> (the same check, nothing injected) does not have.</summary>
    static List<ProbeResult> Added(KernelPlan plan, KernelPlan sound)
    {
        var own = sound.Findings.Select(f => f.Probe).ToHashSet();
        return plan.Findings.Where(f => !own.Contains(f.Probe)).ToList();
    }

    /// <summary>The routes of <paramref name="plan"/> beyond those of <paramref name="sound"/>.</summary>
    static List<string> AddedRoutes(KernelPlan plan, KernelPlan sound) => plan.Routes.Keys.Where(k => !sound.Routes.ContainsKey(k)).ToList();

    [Fact]
    public void A_wrong_channels_last_convolution_is_found_and_routed_around()
    {
        var plan = KernelCheck.Search(Small, host: Fault("kind=wrong,cin=256,cout=512,k=1,layout=channels_last"));
        Assert.All(Added(plan, SoundSmall.Value), finding =>
        {
            Assert.True(finding.Verdict == ProbeVerdict.Wrong, $"{finding.Probe}: {finding.Verdict}, {finding.Detail}");
            Assert.Equal((256, 512, 1), (finding.Probe.Shape.Cin, finding.Probe.Shape.Cout, finding.Probe.Shape.K));
            Assert.True(finding.Error > 0.1, finding.Detail);
        });
        Assert.Contains(plan.Findings, f => f.Probe.Backward && f.Probe.Batch == 2); // training
        Assert.Contains(plan.Findings, f => !f.Probe.Backward && f.Probe.Batch == 1); // a last batch of one, predict
        Assert.All(AddedRoutes(plan, SoundSmall.Value), key => Assert.Equal("1x1 256->512 s2 ChannelsLast Fp32", key));
        Assert.NotEqual(ConvRoute.Direct, plan.Routes["1x1 256->512 s2 ChannelsLast Fp32"]);
        Assert.True(plan.ChannelsLast);
        Assert.Null(plan.Isa);
        Assert.Contains("via subsample", plan.Summary());
    }

    [Fact]
    public void A_check_starts_from_the_probes_already_run_when_they_are_the_requests()
    {
        // `finetune doctor` shows every probe first; the check then starts from those results instead of running
        // them again. Shown by a fault present only in the given results: the search acts on it.
        const string fault = "kind=wrong,cin=256,cout=512,k=1,layout=channels_last";
        var given = ProbeProcess.Run(Small.Probes(), null, TimeSpan.FromMinutes(3), Fault(fault));
        var plan = KernelCheck.Search(Small, firstRound: given);
        Assert.NotEmpty(plan.Findings);
        Assert.All(Added(plan, SoundSmall.Value), finding => Assert.Equal(ProbeVerdict.Wrong, finding.Verdict));
        Assert.Contains("1x1 256->512 s2 ChannelsLast Fp32", plan.Routes.Keys);
        Assert.All(AddedRoutes(plan, SoundSmall.Value), key => Assert.Equal("1x1 256->512 s2 ChannelsLast Fp32", key));

        // Results for other probes are not taken for the request's: the check runs its own (no fault there), and finds
        // what it finds with nothing injected.
        var own = KernelCheck.Search(Small, firstRound: given.Skip(1).ToList());
        Assert.Empty(Added(own, SoundSmall.Value));
        Assert.Equal(SoundSmall.Value.Routes.OrderBy(r => r.Key), own.Routes.OrderBy(r => r.Key));
    }

    [Fact]
    public void A_crash_in_a_backward_kernel_is_pinned_on_its_probe_and_the_rest_still_run()
    {
        var plan = KernelCheck.Search(Small, host: Fault("kind=crash,cin=128,cout=256,k=1,stride=2,pass=backward"));
        // Pinned on the training probe; the same kernel's other probes (evaluation at batch 1) are not run after a death.
        var added = Added(plan, SoundSmall.Value);
        var finding = Assert.Single(added, f => !f.Detail.StartsWith("not run", StringComparison.Ordinal));
        Assert.True(finding.Verdict == ProbeVerdict.Crashed && finding.Detail.Contains("SIGFPE"), $"{finding.Probe}: {finding.Verdict}, {finding.Detail}");
        Assert.Equal("conv 1x1 128->256 s2 @4", finding.Probe.Shape.ToString());
        Assert.True(finding.Probe.Backward);
        Assert.All(added, f => Assert.Equal(finding.Probe.Shape with { H = 0 }, f.Probe.Shape with { H = 0 }));
        Assert.Equal(ConvRoute.Subsample, plan.Routes["1x1 128->256 s2 ChannelsLast Fp32"]);
        Assert.True(plan.ProbeCount > 15, $"{plan.ProbeCount} probes");
    }

    [Fact]
    public void A_fault_on_one_thread_only_is_found_where_the_run_also_computes_on_one_thread()
    {
        // oneDNN splits work by thread count, so a kernel may be wrong on one thread and right on two. The test
        // suite computes on both (tests that train set threads: 1 for the whole process), and so probes both.
        const string fault = "kind=wrong,cin=64,cout=64,k=3,layout=channels_last,threads=1";
        var twoThreads = Small with { Threads = 2 };
        Assert.Empty(Added(KernelCheck.Search(twoThreads, host: Fault(fault)), SoundTwoThreads.Value));

        var plan = KernelCheck.Search(twoThreads with { AlsoOneThread = true }, host: Fault(fault));
        var added = Added(plan, SoundTwoThreads.Value);
        Assert.NotEmpty(added);
        Assert.All(added, f => Assert.Equal(1, f.Probe.Threads));
        Assert.Equal(ConvRoute.Nchw, plan.Routes["3x3 64->64 s1 ChannelsLast Fp32"]);
    }

    [Fact]
    public void A_fault_no_route_avoids_turns_channels_last_off()
    {
        var plan = KernelCheck.Search(Small, host: Fault("kind=wrong,cin=64,cout=64,k=3,layout=channels_last,route=any"));
        Assert.False(plan.ChannelsLast);
        Assert.Null(plan.Isa);
        Assert.Contains("channels-last off", plan.Summary());
    }

    [Fact]
    public void A_fault_in_every_layout_and_route_caps_oneDNNs_instruction_set()
    {
        var plan = KernelCheck.Search(Small with { Blocks = [BlockKind.Basic] },
            host: Fault("kind=crash,cin=64,cout=128,k=3,route=any,isa_above=AVX2"));
        Assert.Equal("AVX2", plan.Isa);
        Assert.Contains(plan.Findings, f => f.Verdict == ProbeVerdict.Crashed);
        Assert.Contains("oneDNN ISA AVX2", plan.Summary());
    }

    [Fact]
    public void Each_escalation_after_an_unexplained_death_is_more_conservative()
    {
        var first = KernelCheck.Search(Small, escalation: 1);
        Assert.False(first.ChannelsLast);
        Assert.Equal(OneDnnIsa.Fallbacks[0], first.Isa);
        var second = KernelCheck.Search(Small, escalation: 2);
        Assert.Equal(OneDnnIsa.Fallbacks[1], second.Isa);
    }

    [Fact]
    public void Probes_cover_training_and_evaluation_sizes_without_duplicates()
    {
        var request = new KernelRequest([BlockKind.Bottleneck, BlockKind.Bottleneck], 288, 32, 320, 64, 101, true, true, true, 2);
        var probes = request.Probes();
        Assert.Equal(probes.Count, probes.Distinct().Count());
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 1x1 1024->2048 s2 @18" && p.Backward && p.Dtype == KernelDtype.Bf16);
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 1x1 1024->2048 s2 @20" && !p.Backward);
        Assert.DoesNotContain((request with { Bf16 = false }).Probes(), p => p.Dtype == KernelDtype.Bf16);
        Assert.All(probes, p => Assert.Equal(2, p.Threads));

        var suite = KernelRequest.ForTests(bf16: false).Probes();
        Assert.Equal([0, 1], suite.Select(p => p.Threads).Distinct().Order());
        Assert.Equal(suite.Count(p => p.Threads == 0), suite.Count(p => p.Threads == 1));
    }

    [Fact]
    public void Probes_cover_the_runs_batches_and_eval_mode_batchnorm_each_within_the_stated_bound()
    {
        // Training at batch 32 and 288 px, evaluation at batch 64 and 320 px, as configs/resnet18_fast_cpu.yaml might.
        var request = new KernelRequest([BlockKind.Basic], 288, 32, 320, 64, 101, true, true, false, 2);
        var probes = request.Probes();
        Assert.Equal([8, 31, 32], probes.Where(p => p.Backward).Select(p => p.Batch).Distinct().Order());
        Assert.Equal([1, 8, 63, 64], probes.Where(p => !p.Backward).Select(p => p.Batch).Distinct().Order());
        // The run's own sizes at MaxBatch, larger batches at a size scaled down so no probe holds more than MaxBatch images' pixels.
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @288" && p.Batch == 8 && p.Backward);
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @128" && p.Batch == 32 && p.Backward);
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @96" && p.Batch == 64 && !p.Backward);
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @320" && p.Batch == 1 && !p.Backward);
        foreach (var (batch, size) in new[] { (32, 288), (31, 288), (64, 320), (63, 320), (256, 224) })
            Assert.True(batch * Math.Pow(KernelRequest.SizeFor(batch, size), 2) <= KernelRequest.MaxBatch * size * size, $"batch {batch} at {size} px");
        // BatchNorm with batch statistics (training) and running ones (evaluation and freeze_batchnorm).
        Assert.Contains(probes, p => p.Shape.Op == ProbeOp.BatchNorm && p.Backward);
        Assert.Contains(probes, p => p.Shape.Op == ProbeOp.BatchNormEval && p.Backward);
        Assert.Contains(probes, p => p.Shape.Op == ProbeOp.BatchNormEval && !p.Backward && p.Batch == 1);
        Assert.DoesNotContain(probes, p => p.Shape.Op == ProbeOp.BatchNorm && !p.Backward);
        Assert.Equal(probes.Count, probes.Distinct().Count());
    }
}
