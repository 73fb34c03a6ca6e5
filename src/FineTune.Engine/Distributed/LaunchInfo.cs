namespace FineTune.Distributed;

/// <summary>
/// Where this process sits in a job started by a launcher, read from the environment the launcher sets.
/// Open MPI's mpirun sets OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK; MPICH's Hydra and Intel MPI set
/// PMI_RANK / PMI_SIZE (only Open MPI's library is bound, so those fail later with a clear message).
/// </summary>
public sealed record LaunchInfo(int Rank, int Size, int LocalRank, int LocalSize, string Launcher)
{
    /// <summary>Null when no launcher started this process (a plain `finetune ...`).</summary>
    public static LaunchInfo? FromEnvironment()
    {
        var rank = Read("OMPI_COMM_WORLD_RANK");
        var size = Read("OMPI_COMM_WORLD_SIZE");
        if (rank is not null && size is not null)
            return new LaunchInfo(rank.Value, size.Value, Read("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0, Read("OMPI_COMM_WORLD_LOCAL_SIZE") ?? 1, "Open MPI");
        rank = Read("PMI_RANK");
        size = Read("PMI_SIZE");
        if (rank is not null && size is not null)
            return new LaunchInfo(rank.Value, size.Value, Read("MPI_LOCALRANKID") ?? Read("PMI_LOCAL_RANK") ?? 0, Read("MPI_LOCALNRANKS") ?? Read("PMI_LOCAL_SIZE") ?? 1, "PMI");
        return null;
    }

    /// <summary>
    /// Threads for each rank's intra-op parallelism: this machine's cores shared by the ranks placed on it
    /// (libtorch would otherwise start one thread per core in every rank and oversubscribe the machine).
    /// </summary>
    public static int ThreadsPerRank()
    {
        var ranksHere = FromEnvironment()?.LocalSize ?? 1;
        return Math.Max(1, Environment.ProcessorCount / Math.Max(1, ranksHere));
    }

    static int? Read(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) && value >= 0 ? value : null;
}
