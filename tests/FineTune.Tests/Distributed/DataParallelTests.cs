using System.Text.RegularExpressions;
using FineTune.Cli.Commands.Distributed;
using FineTune.Models;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Distributed;

/// <summary>
/// Data-parallel training over real Open MPI processes on loopback, through the hidden `finetune ddp-selftest`:
/// equivalence with one process at the global batch, identical ranks, and a job that ends together.
/// </summary>
[Collection("mpirun")] // one job at a time: the machine has few cores
public sealed class DataParallelTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-ddp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Dictionary<string, Tensor> Load(string path)
    {
        var model = new ResNet(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), DdpSelfTestCommand.Classes, TestSetup.Routing) { Precision = ComputePrecision.Fp64 };
        model.load(path);
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float64));
    }

    static double MaxDifference(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b, Func<string, bool>? which = null)
    {
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        return a.Keys.Where(which ?? (_ => true)).Max(k => (a[k] - b[k]).abs().max().item<double>());
    }

    static void Succeeded(MpiJob.Result r)
    {
        Assert.False(r.TimedOut, $"the job did not end within {MpiJob.Bound}:\n{r.Output}");
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
    }

    /// <summary>
    /// In float64 (--fp64), where rounding (~1e-16) stays near 1e-13 after three steps instead of growing to 1e-4 as
    /// fp32's did through layer4's batch statistics (8 values per channel at 32 px), whatever the CPU: a bar of 1e-9
    /// means "the same SGD trajectory". A wrong average or per-rank statistics miss it by orders of magnitude.
    /// </summary>
    [MpiTheory]
    [InlineData(false, -1)] // BatchNorm frozen (eval): per-rank and global statistics coincide
    [InlineData(true, -1)]  // BatchNorm training with synchronised statistics
    [InlineData(false, 1)]  // the stem unfrozen after step 0: the gradient buckets are rebuilt mid-run
    public void Two_ranks_of_batch_b_train_like_one_process_of_batch_2b(bool syncBn, int unfreezeStep)
    {
        string[] common = ["ddp-selftest", "--fp64", "--steps", "3", "--seed", "11", "--unfreeze-step", unfreezeStep.ToString(),
                           .. (syncBn ? new[] { "--sync-bn" } : [])];
        var one = MpiJob.RunSingle([.. common, "--batch", "8", "--out", Path.Combine(_dir, "one.bin")]);
        Succeeded(one);
        var two = MpiJob.RunRanks(2, [.. common, "--batch", "4", "--out", Path.Combine(_dir, "two.{rank}.bin")]);
        Succeeded(two);

        var single = Load(Path.Combine(_dir, "one.bin"));
        var rank0 = Load(Path.Combine(_dir, "two.0.bin"));
        var rank1 = Load(Path.Combine(_dir, "two.1.bin"));
        // Same samples, same start (broadcast from rank 0), gradients averaged: the same SGD trajectory.
        var difference = MaxDifference(single, rank0);
        output.WriteLine($"fp64, sync_bn {syncBn}, unfreeze step {unfreezeStep}: 2 ranks vs 1 process {difference:e2}");
        Assert.True(difference < 1e-9, $"2 ranks differ from 1 process by {difference}");
        // And the ranks agree exactly, parameters and BatchNorm buffers.
        Assert.Equal(0.0, MaxDifference(rank0, rank1));
        Assert.Equal(2, Regex.Matches(two.Output, @"max \|p - p_rank0\| = 0\r?$", RegexOptions.Multiline).Count);

        // The test could fail: training moved the weights well beyond the tolerance.
        var untrained = MpiJob.RunSingle([.. common, "--batch", "8", "--steps", "1", "--out", Path.Combine(_dir, "short.bin")]);
        Succeeded(untrained);
        Assert.True(MaxDifference(single, Load(Path.Combine(_dir, "short.bin"))) > 1e-2);
        if (syncBn) Assert.True(MaxDifference(single, rank0, k => k.Contains("running_var")) < 1e-9);
    }

    [MpiTheory]
    [InlineData("flag")]   // e.g. early stopping decided on one rank
    [InlineData("sigint")] // Ctrl-C delivered to one rank
    public void A_stop_on_one_rank_stops_all_ranks_after_the_same_step(string how)
    {
        var r = MpiJob.RunRanks(2, "ddp-selftest", "--steps", "8", "--batch", "2", "--stop-rank", "1", "--stop-step", "2", "--stop-how", how);
        Succeeded(r);
        Assert.Contains("rank 0: stopping together after step 2", r.Output);
        Assert.Contains("rank 1: stopping together after step 2", r.Output);
        Assert.Contains("rank 0: completed 3 steps", r.Output);
        Assert.Contains("rank 1: completed 3 steps", r.Output);
    }

    [MpiFact]
    public void A_rank_killed_mid_training_ends_the_job_non_zero_naming_the_rank()
    {
        var r = MpiJob.RunRanks(2, "ddp-selftest", "--steps", "6", "--batch", "2", "--kill-rank", "1", "--kill-step", "2", "--kill-how", "signal");
        Assert.False(r.TimedOut, $"the surviving rank kept the job alive past {MpiJob.Bound}:\n{r.Output}");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Matches(@"process rank 1 with PID \d+ on node \S+ exited on signal 9", r.Output);
        Assert.DoesNotContain("completed", r.Output); // rank 0 did not finish on its own: mpirun ended it
    }

    [MpiFact]
    public void A_rank_that_fails_with_an_error_ends_the_job_non_zero_naming_the_rank()
    {
        var r = MpiJob.RunRanks(2, "ddp-selftest", "--steps", "6", "--batch", "2", "--kill-rank", "1", "--kill-step", "2", "--kill-how", "error");
        Assert.False(r.TimedOut, $"the surviving rank kept the job alive past {MpiJob.Bound}:\n{r.Output}");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("finetune: rank 1 of 2: simulated failure at step 2", r.Output);
        Assert.DoesNotContain("completed", r.Output);
    }
}
