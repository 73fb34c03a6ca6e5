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
    const string WrongLayer4Shortcut = "kind=wrong,cin=256,cout=512,k=1,layout=channels_last";
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
        var r = MpiJob.RunHost(2, "train-fault-on-rank", faultyRank.ToString(), WrongLayer4Shortcut, "--config", Config(), "--distributed");
        Assert.False(r.TimedOut, $"the job did not end within {MpiJob.Bound}:\n{r.Output}");
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
        var plans = Plans(r);
        Assert.True(plans.Count == 2, $"expected a plan line from each rank:\n{r.Output}");
        Assert.Equal(plans[0], plans[1]);
        Assert.Contains("rank 0's plan, used by all 2 ranks", r.Output);
        // Rank 0's verdict is the one taken: a route exactly when rank 0's CPU is the faulty one.
        Assert.Equal(faultyRank == 0, plans[0].Contains("1x1 256->512 s2 channels-last fp32 via subsample"));
    }
}
