using FineTune.Kernels;
using FineTune.Models;
using FineTune.MpiHost;
using Xunit;

namespace FineTune.Tests.Kernels;

/// <summary>
/// Detection, not routing: faults that only a probe comparing every element of every output and gradient, at the
/// batches and BatchNorm modes a run uses, against the stated tolerance, can find. Each runs the request's own probes
/// of the faulty operation in a real probe process; only the fault is injected (<see cref="FaultyKernels"/>, in the tests' probe host).
/// </summary>
public class FaultDetectionTests
{
    // ResNet-18 at 32 px, batch 4 (so also 3, and 1 for evaluation), channels-last fp32, one thread.
    static readonly KernelRequest Run = new([BlockKind.Basic], 32, 4, 32, 4, 5, ChannelsLast: true, Training: true, Bf16: false, Threads: 1);

    /// <summary>The results of <paramref name="request"/>'s probes whose shape starts with <paramref name="shape"/>, under <paramref name="fault"/>.</summary>
    static List<ProbeResult> Probed(KernelRequest request, string shape, string fault)
    {
        var probes = request.Probes().Where(p => p.Shape.ToString().StartsWith(shape, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(probes);
        return ProbeProcess.Run(probes, null, TimeSpan.FromMinutes(3), FaultyKernels.ProbeHost(fault));
    }

    static string Describe(IEnumerable<ProbeResult> results) => string.Join("\n", results.Select(r => $"{r.Probe}: {r.Verdict}, {r.Detail}"));

    [Theory]
    [InlineData("kind=nan,cin=64,cout=64,k=3,sample=0", "output")]
    [InlineData("kind=nan,cin=64,cout=64,k=3,pass=backward_weight", "weight gradient")]
    public void A_single_NaN_fails_the_probe_even_where_every_other_difference_is_small(string fault, string where)
    {
        // A NaN sorts below every number: picked by size alone, the worst difference would be a finite one.
        var backward = Probed(Run, "conv 3x3 64->64", fault).Where(r => r.Probe.Backward).ToList();
        Assert.NotEmpty(backward);
        Assert.All(backward, r => Assert.True(r.Verdict == ProbeVerdict.Wrong && r.Detail.StartsWith($"{where} has 1 NaN", StringComparison.Ordinal), Describe([r])));
    }

    [Fact]
    public void A_wrong_value_in_a_middle_sample_only_is_found()
    {
        var results = Probed(Run, "conv 3x3 64->64", "kind=wrong,cin=64,cout=64,k=3,sample=1");
        var found = results.Where(r => !r.Passed).ToList();
        Assert.True(found.Select(r => r.Probe.Batch).Order().SequenceEqual([3, 4]), Describe(results)); // batch 1 has no sample 1
        Assert.All(found, r => Assert.StartsWith("output off by 0.2", r.Detail));
    }

    [Theory]
    [InlineData("conv 3x3 64->64", "kind=wrong,cin=64,cout=64,k=3,pass=backward_data", "input gradient")]
    [InlineData("conv 3x3 64->64", "kind=wrong,cin=64,cout=64,k=3,pass=backward_weight", "weight gradient")]
    [InlineData("batchnorm 64 ", "kind=wrong,op=batchnorm,cin=64,pass=backward_weight", "weight gradient")]
    [InlineData("batchnorm 64 ", "kind=wrong,op=batchnorm,cin=64,pass=backward_bias", "bias gradient")]
    [InlineData("linear 512->5", "kind=wrong,op=linear,pass=backward_bias", "bias gradient")]
    public void A_fault_in_one_backward_kernel_only_is_found(string shape, string fault, string where)
    {
        var results = Probed(Run, shape, fault);
        var backward = results.Where(r => r.Probe.Backward).ToList();
        Assert.NotEmpty(backward);
        Assert.All(backward, r => Assert.True(!r.Passed && r.Detail.StartsWith($"{where} off by 0.2", StringComparison.Ordinal), Describe([r])));
        Assert.All(results.Where(r => !r.Probe.Backward), r => Assert.True(r.Passed, Describe([r]))); // its forward is right
    }

    [Fact]
    public void A_fault_in_eval_mode_batchnorm_only_is_found_in_evaluation_and_frozen_training()
    {
        var results = Probed(Run, "batchnorm", "kind=wrong,op=batchnorm_eval,cin=64");
        Assert.All(results.Where(r => r.Probe.Shape.Op == ProbeOp.BatchNorm), r => Assert.True(r.Passed, Describe([r])));
        var found = results.Where(r => !r.Passed).ToList();
        Assert.Contains(found, r => !r.Probe.Backward && r.Probe.Batch == 1); // evaluation, predict's batch of one
        Assert.Contains(found, r => r.Probe.Backward); // training with freeze_batchnorm
        Assert.All(found, r => Assert.Equal((ProbeOp.BatchNormEval, 64), (r.Probe.Shape.Op, r.Probe.Shape.Cin)));
    }

    [Fact]
    public void A_fault_only_at_the_runs_batch_of_32_is_found()
    {
        var results = Probed(Run with { TrainBatch = 32, EvalBatch = 32 }, "conv 3x3 64->64", "kind=wrong,cin=64,cout=64,k=3,batch=32");
        var found = Assert.Single(results, r => !r.Passed);
        Assert.Equal(32, found.Probe.Batch);
        Assert.True(found.Probe.Backward);
    }

    [Fact]
    public void A_fault_just_above_the_stated_tolerance_is_found_and_one_below_is_not()
    {
        var above = Probed(Run, "conv 3x3 64->64 s1 @8", "kind=wrong,cin=64,cout=64,k=3,size=0.0015");
        Assert.All(above, r => Assert.True(!r.Passed && r.Error is > 1e-3 and < 2e-3, Describe([r])));
        var below = Probed(Run, "conv 3x3 64->64 s1 @8", "kind=wrong,cin=64,cout=64,k=3,size=0.0005");
        Assert.All(below, r => Assert.True(r.Passed, Describe([r])));
        Assert.Equal(1e-3, ProbeRunner.Tolerance(KernelDtype.Fp32)); // the tolerance docs/kernel-check.md states
    }
}
