using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;

namespace FineTune.Data.Archives;

/// <summary>
/// Adds up what an archive's headers declare (file bytes, entries) and refuses it before a byte is written when
/// that passes <see cref="ArchiveLimits"/> or the free space at the target. A tar is read once for this, headers
/// only; the count stops as soon as a limit is passed, so a bomb's payload is never decompressed.
/// </summary>
static class ArchiveBudget
{
    /// <summary>Checks a tar stream (already decompressed); the caller opens it again to extract.</summary>
    public static void CheckTar(Stream tar, string archiveName, long archiveBytes, string target, ArchiveLimits limits)
    {
        long free = FreeBytes(target);
        long declared = 0, entries = 0;
        var ledger = new TarLedger(archiveName); // hard links cost their target's bytes, found as extraction finds them
        using var reader = new TarReader(tar, leaveOpen: true);
        while (reader.GetNextEntry(copyData: false) is { } entry)
        {
            long bytes = ledger.Record(entry);
            entries++;
            declared = bytes > long.MaxValue - declared ? long.MaxValue : declared + bytes;
            Check(declared, entries, archiveName, archiveBytes, target, free, limits, complete: false);
        }
        Check(declared, entries, archiveName, archiveBytes, target, free, limits, complete: true);
    }

    /// <summary>Checks a zip from its central directory (the sizes the extractor then holds each entry to).</summary>
    public static void CheckZip(ZipArchive zip, string zipPath, string target, ArchiveLimits limits)
    {
        long declared = 0;
        foreach (var entry in zip.Entries)
            declared = entry.Length > long.MaxValue - declared ? long.MaxValue : declared + entry.Length;
        Check(declared, zip.Entries.Count, zipPath, new FileInfo(zipPath).Length, target, FreeBytes(target), limits, complete: true);
    }

    static void Check(long declared, long entries, string archive, long archiveBytes, string target, long free, ArchiveLimits limits, bool complete)
    {
        string atLeast = complete ? "" : "at least ";
        if (entries > limits.MaxEntries)
            throw new UnsafeArchiveException(
                $"Refusing archive '{archive}': it holds more than {limits.MaxEntries.ToString("N0", CultureInfo.InvariantCulture)} entries, the entry-count limit " +
                "(Caltech-101 has about 9,200); nothing was extracted. If you trust the archive, raise the limit with --max_entries N.");
        double ratio = declared / (double)Math.Max(1, archiveBytes);
        if (ratio > limits.MaxRatio)
            throw new UnsafeArchiveException(
                $"Refusing archive '{archive}': its entries declare {atLeast}{ArchiveLimits.Size(declared)}, {ratio.ToString("0.#", CultureInfo.InvariantCulture)} times " +
                $"the archive's {ArchiveLimits.Size(archiveBytes)}, past the expansion-ratio limit of {limits.MaxRatio.ToString("0.#", CultureInfo.InvariantCulture)} " +
                "(image data sets expand about 1.1 times; this looks like an archive bomb); nothing was extracted. " +
                $"If you trust the archive, raise the limit with --max_ratio {Math.Ceiling(ratio + 1).ToString(CultureInfo.InvariantCulture)}.");
        long needed = ArchiveLimits.SpaceNeeded(declared, entries);
        if (limits.CheckFreeSpace && needed > free)
            throw new UnsafeArchiveException(
                $"Archive '{archive}' declares {atLeast}{ArchiveLimits.Size(declared)} in {entries.ToString("N0", CultureInfo.InvariantCulture)} entries; with a margin " +
                $"that needs {ArchiveLimits.Size(needed)}, but only {ArchiveLimits.Size(free)} is free at '{target}', the free-space limit; nothing was extracted. " +
                "Free some space or pass --out with a folder on a disk that has room (--ignore_free_space if the file system misreports its free space).");
    }

    static long FreeBytes(string target)
    {
        var existing = Path.GetFullPath(target);
        while (!Directory.Exists(existing)) existing = Path.GetDirectoryName(existing) ?? "/";
        return new DriveInfo(existing).AvailableFreeSpace;
    }
}
