using System.Text.RegularExpressions;
using Xunit;

namespace FineTune.Tests.Distributed;

/// <summary>
/// One kernel plan for the whole job: rank 0's, handed to every rank. A CPU fault on one rank only would otherwise give
/// that rank its own plan (a route around the fault, channels-last off, another precision), and the ranks would compute
/// two different things.
/// </summary>
[Collection("mpirun")]
public sealed class KernelPlanOverRanksTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-ddp-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Config()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "seam", "unused")); // the host serves synthetic images itself
        var path = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(path, $"""
            data:
              data_dir: {Path.Combine(_dir, "seam")}
              synthetic_images_per_class: 4
              batch_size: 2
              image_size: 32
              num_workers: 1
              seed: 5
            model:
              backbone: resnet18
              pretrained: false
              num_classes: 3
            training:
              num_epochs: 1
              optimizer: sgd
              base_lr: 0.01
              scheduler: none
              threads: 1
              precision: fp32
              channels_last: true
              freeze_batchnorm: true
            experiment:
              name: run
              checkpoint_dir: {Path.Combine(_dir, "checkpoints")}
              log_dir: {Path.Combine(_dir, "logs")}
            """);
        return path;
    }

    static List<string> Plans(MpiJob.Result r) =>
        Regex.Matches(r.Output, @"^rank (\d) plan: (.*)$", RegexOptions.Multiline).OrderBy(m => m.Groups[1].Value).Select(m => m.Groups[2].Value.Trim()).ToList();

    [MpiTheory]
    [InlineData(0)] // rank 0's check routes around the fault: rank 1 takes the route too
    [InlineData(1)] // rank 1's CPU alone is faulty: it still computes with rank 0's plan, not one of its own
    public void Every_rank_computes_with_rank_0s_plan_when_one_rank_has_a_fault(int faultyRank)
    {
        // The same job with no fault anywhere: the plan this CPU's own kernels get.
        var sound = Plan(-1, fault: "none"); // rank -1: the fault is set on no rank
        var (fault, route) = InjectedFaults.WhereSound(sound);
        var plan = Plan(faultyRank, fault);
        // Rank 0's verdict is the one taken: the injected fault's route exactly when rank 0's CPU is the faulty one,
        // and otherwise the plan of a job with no fault at all.
        Assert.True(faultyRank == 0 == plan.Contains(route, StringComparison.Ordinal), $"fault on rank {faultyRank} ({fault}): {plan}");
        if (faultyRank != 0) Assert.Equal(Decision(sound), Decision(plan));
    }

    /// <summary>The plan every rank computed with, <paramref name="fault"/> injected on <paramref name="faultyRank"/> (-1: none).</summary>
    string Plan(int faultyRank, string fault)
    {
        var r = MpiJob.RunHost(2, "train-fault-on-rank", faultyRank.ToString(), fault, "--config", Config(), "--distributed");
        Assert.False(r.TimedOut, $"the job did not end within {MpiJob.Bound}:\n{r.Output}");
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
        var plans = Plans(r);
        Assert.True(plans.Count == 2, $"expected a plan line from each rank:\n{r.Output}");
        Assert.Equal(plans[0], plans[1]);
        Assert.Contains("rank 0's plan, used by all 2 ranks", r.Output);
        return plans[0];
    }

    /// <summary>What a plan decides (channels-last, routes, ISA, bf16), without how it was reached (probe counts, timing, cache).</summary>
    static string Decision(string plan) => Regex.Replace(plan, @" \((all \d+ probes|\d+ of \d+ probes) .*$", "");
}
