using System.Globalization;

namespace FineTune.Data.Archives;

/// <summary>
/// How far `data prepare` lets an archive expand, checked from its headers before anything is written
/// (<see cref="ArchiveBudget"/>). Caltech-101's tar.gz expands 1.1 times into about 9,200 entries; a bomb
/// declares far more than any image data set, or more than the disk holds.
/// </summary>
/// <param name="MaxRatio">Declared file bytes over the archive's size on disk (`--max_ratio`).</param>
/// <param name="MaxEntries">Entries of every kind, folders and links included (`--max_entries`).</param>
/// <param name="CheckFreeSpace">Compare the declared bytes with the target's free space (`--ignore_free_space` turns it off
/// for file systems that misreport it).</param>
public sealed record ArchiveLimits(
    double MaxRatio = ArchiveLimits.DefaultMaxRatio, long MaxEntries = ArchiveLimits.DefaultMaxEntries, bool CheckFreeSpace = true)
{
    /// <summary>JPEG and PNG do not compress further; 20 leaves room for uncompressed formats (BMP, PPM) too.</summary>
    public const double DefaultMaxRatio = 20;

    /// <summary>Ten times Caltech-101's entry count.</summary>
    public const long DefaultMaxEntries = 100_000;

    public static ArchiveLimits Default { get; } = new();

    /// <summary>Free space kept beyond the declared bytes: a tenth more, plus one 4 KiB block per entry for rounding.</summary>
    public static long SpaceNeeded(long declaredBytes, long entries) =>
        declaredBytes + declaredBytes / 10 + entries * 4096;

    internal static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.#} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.#} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.#} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
    };
}
