using FineTune.Distributed;
using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

/// <summary>
/// The collectives of <see cref="DistributedContext"/> with 2 real ranks, each checked against what it must give:
/// sums, the stop vote, broadcast, gradient averaging over several buckets (including a parameter only one rank used),
/// and the divergence measure. Prints "collectives ok on rank R" or exits 1 naming the first check that failed.
/// </summary>
static class Collectives
{
    static void Check(bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException($"check failed: {what}");
    }

    public static int Run()
    {
        using var dist = DistributedContext.Create(distributed: true);
        int rank = dist.Rank;
        Check(dist.WorldSize == 2, "world size 2");

        Check(dist.SumOverRanks(rank + 1, 10 * rank).SequenceEqual([3.0, 10.0]), "SumOverRanks adds every rank's values");
        Check(dist.ShouldStop(thisRankWantsToStop: rank == 1), "a stop wanted by rank 1 is seen on every rank");
        Check(!dist.ShouldStop(), "no stop when no rank wants one");

        using (var t = full(5, (float)(rank + 7)))
        {
            dist.Comm.Broadcast(t, root: 1);
            Check(t.eq(8f).all().item<bool>(), "Broadcast from rank 1 gives rank 1's values");
        }

        manual_seed(3); // same start on both ranks
        using var model = new ResNet(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), 5);
        using var scope = NewDisposeScope();
        var parameters = model.parameters().ToList();
        var generator = new Generator(21);
        var bases = parameters.Select(p => randn(p.shape, generator: generator)).ToList();
        using (no_grad())
            for (int i = 0; i < parameters.Count; i++)
                // Parameter 0 (conv1.weight) has a gradient on rank 1 only, as an unused branch would on rank 0.
                parameters[i].grad = i == 0 && rank == 0 ? null : bases[i] * (rank + 1);
        using var reducer = new GradientAllReducer(dist.Comm, parameters, bucketBytes: 1 << 20);
        Check(reducer.Buckets.Count > 3, "several buckets");
        reducer.AllReduce();
        for (int i = 0; i < parameters.Count; i++)
        {
            var expected = i == 0 ? bases[i] : bases[i] * 1.5; // (1 + 2) / 2, or rank 1's 2x alone over 2 ranks
            Check(parameters[i].grad is { } g && allclose(g, expected, rtol: 1e-6, atol: 1e-6), $"gradient {i} is the average over ranks");
        }

        Check(dist.MaxDifferenceFromRank0(model) == 0, "identical models differ by 0");
        using (no_grad()) if (rank == 1) parameters[3].add_(0.25);
        var difference = dist.MaxDifferenceFromRank0(model);
        Check(Math.Abs(difference - 0.25) < 1e-6, $"a parameter moved by 0.25 on rank 1 is seen on every rank (got {difference})");
        dist.BroadcastState(model);
        Check(dist.MaxDifferenceFromRank0(model) == 0, "after BroadcastState the ranks agree");

        Console.WriteLine($"collectives ok on rank {rank}");
        dist.Finish();
        return 0;
    }
}
