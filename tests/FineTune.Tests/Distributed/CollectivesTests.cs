using FineTune.Distributed;
using Xunit;

namespace FineTune.Tests.Distributed;

/// <summary>The collectives of a distributed run with 2 real ranks (tests/FineTune.MpiHost, `collectives`).</summary>
[Collection("mpirun")]
public sealed class CollectivesTests
{
    [MpiFact]
    public void Sums_stop_votes_broadcasts_gradient_averages_and_divergence_checks_give_what_each_must()
    {
        var r = MpiJob.RunHost(2, "collectives");
        Assert.False(r.TimedOut, r.Output);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
        Assert.Contains("collectives ok on rank 0", r.Output);
        Assert.Contains("collectives ok on rank 1", r.Output);
    }
}

/// <summary>MPI_Init_thread may grant less than asked: below MPI_THREAD_SERIALIZED the run is refused, naming what is missing.</summary>
public sealed class MpiThreadLevelTests
{
    [Theory]
    [InlineData(MpiThreadLevel.Single, "granted MPI_THREAD_SINGLE", "missing: MPI_THREAD_FUNNELED, MPI_THREAD_SERIALIZED.")]
    [InlineData(MpiThreadLevel.Funneled, "granted MPI_THREAD_FUNNELED", "missing: MPI_THREAD_SERIALIZED.")]
    public void Too_little_thread_support_is_refused_naming_what_is_missing(int provided, string granted, string missing)
    {
        var e = Assert.Throws<DistributedException>(() => MpiThreadLevel.EnsureEnough(provided, "libmpi.so.40"));
        Assert.Contains("libmpi.so.40 " + granted, e.Message);
        Assert.Contains(missing, e.Message);
        Assert.Contains("FINETUNE_MPI_LIBRARY", e.Message);
    }

    [Theory]
    [InlineData(MpiThreadLevel.Serialized)]
    [InlineData(MpiThreadLevel.Multiple)]
    public void Serialized_or_more_is_enough(int provided) => MpiThreadLevel.EnsureEnough(provided, "libmpi.so.40");
}
