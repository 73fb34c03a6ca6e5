namespace FineTune.Data;

/// <summary>
/// The order samples are visited in: a permutation that depends only on (seed, epoch), so every process of a
/// distributed run computes the same one and takes a disjoint shard of it without talking to the others.
/// </summary>
public static class EpochOrder
{
    public static int[] Shuffled(ulong seed, int epoch, int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new SplitMix64(SplitMix64.Mix((long)seed, epoch, 0x0E0C)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s part of <paramref name="order"/> among <paramref name="world"/> processes: every world-th
    /// element from rank. With <paramref name="padToEqual"/> the order wraps around so every rank gets the same count
    /// (as torch's DistributedSampler does), which keeps collective steps in lock-step; otherwise shards are disjoint and differ by at most one.
    /// </summary>
    public static int[] Shard(IReadOnlyList<int> order, int rank, int world, bool padToEqual = false)
    {
        if (world < 1) throw new ArgumentOutOfRangeException(nameof(world), "world size must be at least 1");
        if (rank < 0 || rank >= world) throw new ArgumentOutOfRangeException(nameof(rank), $"rank must be in 0..{world - 1}");
        int total = padToEqual ? (order.Count + world - 1) / world * world : order.Count;
        var shard = new List<int>(total / world + 1);
        for (int i = rank; i < total; i += world) shard.Add(order[i % order.Count]);
        return shard.ToArray();
    }
}
