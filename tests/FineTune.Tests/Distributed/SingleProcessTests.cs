using FineTune.Distributed;
using FineTune.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Distributed;

/// <summary>
/// A world of one and the parts of data parallelism that need no second rank (bucket layout, launch checks). What the
/// collectives compute is tested with 2 real ranks in <see cref="CollectivesTests"/>.
/// </summary>
public class SingleProcessTests
{
    static ResNet TinyResNet() => new(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), 10);

    [Fact]
    public void Without_a_launcher_distributed_is_a_world_of_one_without_mpi()
    {
        Assert.Null(LaunchInfo.FromEnvironment()); // the test runner is not started by mpirun
        using var dist = DistributedContext.Create(distributed: true);
        Assert.Equal((0, 1, true, false), (dist.Rank, dist.WorldSize, dist.IsMain, dist.IsDistributed));
        Assert.IsType<SingleProcessCommunicator>(dist.Comm);
    }

    [Fact]
    public void A_launch_of_several_ranks_without_distributed_is_refused_with_the_fix()
    {
        var e = Assert.Throws<DistributedException>(() => DistributedContext.Create(false, new LaunchInfo(1, 2, 1, 2, "Open MPI")));
        Assert.Contains("add --distributed", e.Message);
    }

    [Fact]
    public void A_cancelled_token_is_seen_by_should_stop()
    {
        using var dist = DistributedContext.SingleProcess();
        using var stop = new CancellationTokenSource();
        Assert.False(dist.ShouldStop(stop.IsCancellationRequested));
        stop.Cancel();
        Assert.True(dist.ShouldStop(stop.IsCancellationRequested));
    }

    [Fact]
    public void Buckets_hold_each_trainable_parameter_once_in_reverse_order_up_to_the_size()
    {
        using var scope = NewDisposeScope();
        using var model = TinyResNet();
        model.FreezeStem();
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        long cap = 1024 * 1024; // 1 MB: several buckets for this model (~19 MB of float32)
        using var reducer = new GradientAllReducer(new SingleProcessCommunicator(), model.parameters(), cap);

        var order = reducer.Buckets.SelectMany(b => b.Parameters).ToList();
        Assert.Equal(Enumerable.Reverse(trainable).Select(p => p.Handle), order.Select(p => p.Handle));
        Assert.True(reducer.Buckets.Count > 5);
        foreach (var b in reducer.Buckets)
        {
            Assert.Equal(b.Parameters.Sum(p => p.NumberOfElements), b.Flat.NumberOfElements);
            // A bucket closes as soon as it reaches the size, so without its last parameter it is below it.
            Assert.True((b.Flat.NumberOfElements - b.Parameters[^1].NumberOfElements) * 4 < cap);
        }
        Assert.Equal("fc.bias", model.named_parameters().First(p => p.parameter.Handle == order[0].Handle).name);
    }

    [Fact]
    public void A_reducer_made_inside_a_dispose_scope_keeps_its_buffers_after_it()
    {
        using var model = TinyResNet();
        GradientAllReducer reducer;
        using (NewDisposeScope()) reducer = new GradientAllReducer(new SingleProcessCommunicator(), model.parameters());
        Assert.All(reducer.Buckets, b => Assert.False(b.Flat.IsInvalid));
        reducer.Dispose();
    }
}

static class FreezeExtensions
{
    /// <summary>Freezes the stem convolution, as fine-tuning does with early layers.</summary>
    public static void FreezeStem(this ResNet model) =>
        model.named_parameters().First(p => p.name == "conv1.weight").parameter.requires_grad = false;
}

public class GpuMappingTests
{
    [Theory]
    [InlineData("0,1,2,3", 0, 0)]
    [InlineData("0,1,2,3", 3, 3)]
    [InlineData("2, 3", 1, 3)]
    [InlineData("5", 0, 5)]
    public void Each_local_rank_takes_its_entry_of_the_gpu_list(string gpu, int localRank, int device) =>
        Assert.Equal(device, DistributedContext.DeviceFor(gpu, localRank));

    [Fact]
    public void More_ranks_on_a_machine_than_listed_devices_is_refused_with_the_fix()
    {
        var e = Assert.Throws<DistributedException>(() => DistributedContext.DeviceFor("0,1", 2));
        Assert.Contains("--npernode 2", e.Message);
        Assert.Throws<DistributedException>(() => DistributedContext.DeviceFor("0,x", 0));
    }
}

public class LaunchInfoTests
{
    [Fact]
    public void Without_a_launcher_one_rank_gets_every_core() =>
        Assert.Equal(Environment.ProcessorCount, LaunchInfo.ThreadsPerRank());
}
