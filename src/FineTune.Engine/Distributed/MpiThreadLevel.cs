namespace FineTune.Distributed;

/// <summary>
/// The thread support an MPI library grants (MPI_Init_thread's "provided"), checked against what FineTune needs.
/// MPI_Init_thread may grant less than it was asked for and still succeed; below MPI_THREAD_SERIALIZED the MPI calls
/// that SyncBatchNorm makes from autograd's backward thread (not the thread that initialised MPI) are undefined
/// behaviour, so the run is refused with what was granted and what is missing.
/// </summary>
public static class MpiThreadLevel
{
    public const int Single = 0, Funneled = 1, Serialized = 2, Multiple = 3;

    static readonly string[] Names = ["MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"];

    public static string Name(int level) => level >= 0 && level < Names.Length ? Names[level] : $"thread level {level}";

    /// <summary>Throws a <see cref="DistributedException"/> naming the missing levels when <paramref name="provided"/> is below <see cref="Serialized"/>.</summary>
    public static void EnsureEnough(int provided, string library)
    {
        if (provided >= Serialized) return;
        var missing = Enumerable.Range(Math.Max(provided + 1, Single), Serialized - Math.Max(provided, Single - 1)).Select(Name);
        throw new DistributedException(
            $"{library} granted {Name(provided)}, but FineTune needs {Name(Serialized)} (MPI called from more than one thread, one call at a time: " +
            $"SyncBatchNorm's all-reduce runs on autograd's backward thread); missing: {string.Join(", ", missing)}. " +
            "Use an Open MPI built with thread support (Debian's and Ubuntu's openmpi-bin are), or point FINETUNE_MPI_LIBRARY at one.");
    }
}
