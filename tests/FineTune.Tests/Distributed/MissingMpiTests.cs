using FineTune.Distributed;
using Xunit;

namespace FineTune.Tests.Distributed;

/// <summary>What a user sees when a launcher started the program but Open MPI's library cannot be loaded.</summary>
public class MissingMpiTests
{
    [Fact]
    public void A_missing_mpi_library_ends_in_one_line_naming_the_rank_and_the_fix()
    {
        var r = MpiJob.RunSingle(new Dictionary<string, string>
        {
            // As mpirun would set them, but with a library that does not exist.
            ["OMPI_COMM_WORLD_RANK"] = "1", ["OMPI_COMM_WORLD_SIZE"] = "2", ["OMPI_COMM_WORLD_LOCAL_RANK"] = "1",
            [MpiLibraryVariable] = "/nonexistent/libmpi.so.40",
        }, "ddp-selftest", "--steps", "1");
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("finetune:"));
        Assert.Contains("rank 1 of 2", line);
        Assert.Contains("FINETUNE_MPI_LIBRARY=/nonexistent/libmpi.so.40 could not be loaded", line);
        Assert.DoesNotContain("   at ", r.Output); // no stack trace
    }

    const string MpiLibraryVariable = "FINETUNE_MPI_LIBRARY";

    [Fact]
    public void Started_by_mpirun_without_distributed_is_refused()
    {
        var launch = new LaunchInfo(Rank: 0, Size: 2, LocalRank: 0, LocalSize: 2, Launcher: "Open MPI");
        var e = Assert.Throws<DistributedException>(() => DistributedContext.Create(distributed: false, launch));
        Assert.Contains("rank 0 of 2", e.Message);
        Assert.Contains("add --distributed", e.Message);
    }
}
