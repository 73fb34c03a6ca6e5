using System.Diagnostics;
using System.IO.Compression;

namespace FineTune.Data.Archives;

/// <summary>
/// `finetune data prepare`: turns the official `caltech-101.zip` (which holds `caltech-101/101_ObjectCategories.tar.gz`)
/// or the inner `.tar.gz`/`.tar` into `out/101_ObjectCategories/`. Extraction happens in a temporary folder beside the
/// output and is moved into place only when complete, so an interrupted or refused run leaves no half dataset; the
/// temporary folder of a run that was killed is removed by the next one.
/// </summary>
public static class DatasetPreparer
{
    /// <summary>Caltech's data repository record for Caltech-101 (CC BY 4.0); `data prepare --download` fetches it.</summary>
    public const string OfficialUrl = "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip";

    /// <summary>What to do when the download cannot be made.</summary>
    public const string DownloadFallback = "download the archive yourself and pass --archive";

    public const string ImageFolder = "101_ObjectCategories";
    const string InnerArchive = "101_ObjectCategories.tar.gz";

    public enum ArchiveKind { Zip, Gzip, Tar, Unknown }

    /// <summary>
    /// Returns the prepared image folder. If it already exists nothing is touched. An archive whose headers declare
    /// more than <paramref name="limits"/> allow (default <see cref="ArchiveLimits.Default"/>) is refused before writing.
    /// </summary>
    public static (string Folder, bool AlreadyThere, int Files) Prepare(string archive, string outDir, ArchiveLimits? limits = null, Action<string>? log = null)
    {
        limits ??= ArchiveLimits.Default;
        if (!File.Exists(archive))
            throw new FileNotFoundException($"Archive '{archive}' not found; pass --archive with the path of caltech-101.zip or 101_ObjectCategories.tar.gz (or use --download).");
        RemoveAbandoned(outDir, log);
        var final = Path.Combine(outDir, ImageFolder);
        if (Directory.Exists(final)) return (final, true, 0);
        bool createdOut = !Directory.Exists(outDir);
        Directory.CreateDirectory(outDir);
        var temp = Path.Combine(outDir, $".prepare-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            int files = Extract(archive, temp, limits);
            var extracted = Path.Combine(temp, ImageFolder);
            if (!Directory.Exists(extracted))
                throw new UnsafeArchiveException($"Archive '{archive}' has no '{ImageFolder}/' folder; it is not the Caltech-101 image archive. Pass caltech-101.zip or 101_ObjectCategories.tar.gz.");
            Directory.Move(extracted, final);
            return (final, false, files);
        }
        catch when (createdOut)
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            if (Directory.Exists(outDir) && !Directory.EnumerateFileSystemEntries(outDir).Any()) Directory.Delete(outDir);
            throw;
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>
    /// Deletes the temporary folders of earlier runs whose process is gone (killed mid-extraction: no `finally` ran),
    /// which would otherwise keep up to a whole dataset's bytes hidden in <paramref name="outDir"/>. A live run's stays.
    /// </summary>
    static void RemoveAbandoned(string outDir, Action<string>? log)
    {
        if (!Directory.Exists(outDir)) return;
        foreach (var folder in Directory.EnumerateDirectories(outDir, ".prepare-*").ToList())
        {
            var pid = Path.GetFileName(folder).Split('-')[1];
            if (!int.TryParse(pid, out var id) || IsAlive(id)) continue; // not ours, or still extracting
            Directory.Delete(folder, recursive: true);
            log?.Invoke($"Removed {folder}: the half extraction of an earlier `data prepare` (pid {pid}) that was killed before it finished.");
        }
    }

    static bool IsAlive(int pid)
    {
        try { using var process = Process.GetProcessById(pid); return !process.HasExited; }
        catch (ArgumentException) { return false; }
    }

    static int Extract(string archive, string target, ArchiveLimits limits)
    {
        long archiveBytes = new FileInfo(archive).Length;
        switch (Detect(archive))
        {
            case ArchiveKind.Zip:
                using (var zip = SafeExtractor.OpenZip(archive))
                {
                    SafeExtractor.CheckZipEntries(zip, archive);
                    var inner = zip.Entries.FirstOrDefault(e => e.FullName.Replace('\\', '/').Split('/')[^1] == InnerArchive)
                        ?? throw new UnsafeArchiveException($"Zip '{archive}' holds no {InnerArchive}; it is not the official caltech-101.zip.");
                    var innerName = $"{archive}!{inner.FullName}";
                    try
                    {
                        // First pass: headers only, against the zip's size on disk; second pass: extract.
                        using (var gzip = new GZipStream(inner.Open(), CompressionMode.Decompress))
                            CheckTar(gzip, innerName, archiveBytes, target, limits);
                        using var entryStream = inner.Open();
                        using var extracting = new GZipStream(entryStream, CompressionMode.Decompress);
                        int files = SafeExtractor.ExtractTar(extracting, target, innerName);
                        extracting.CopyTo(Stream.Null); // reads to the entry's end, where .NET checks its CRC-32
                        return files;
                    }
                    catch (InvalidDataException e) { throw SafeExtractor.Damaged(archive, e); }
                }
            case ArchiveKind.Gzip:
                using (var file = File.OpenRead(archive))
                using (var gzip = new GZipStream(file, CompressionMode.Decompress))
                {
                    try { CheckTar(gzip, archive, archiveBytes, target, limits); }
                    catch (InvalidDataException e) { throw SafeExtractor.Damaged(archive, e); }
                }
                return GzipCheck.ExtractTarGz(archive, target);
            case ArchiveKind.Tar:
                using (var file = File.OpenRead(archive))
                    CheckTar(file, archive, archiveBytes, target, limits);
                using (var file = File.OpenRead(archive))
                    return SafeExtractor.ExtractTar(file, target, archive);
            default:
                throw new UnsafeArchiveException($"'{archive}' is not a zip, tar.gz or tar archive (by its content); pass caltech-101.zip or 101_ObjectCategories.tar.gz.");
        }
    }

    /// <summary>The budget pass; a tar too damaged to read its headers is reported as such, as extraction would.</summary>
    static void CheckTar(Stream tar, string archiveName, long archiveBytes, string target, ArchiveLimits limits)
    {
        try { ArchiveBudget.CheckTar(tar, archiveName, archiveBytes, target, limits); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
        {
            throw SafeExtractor.Damaged(archiveName, e);
        }
    }

    /// <summary>By content: zip `PK\3\4`, gzip `1F 8B`, tar `ustar` at offset 257.</summary>
    public static ArchiveKind Detect(string path)
    {
        var head = new byte[512];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return ArchiveKind.Zip;
        if (n >= 2 && head[0] == 0x1F && head[1] == 0x8B) return ArchiveKind.Gzip;
        if (n >= 262 && head.AsSpan(257, 5).SequenceEqual("ustar"u8)) return ArchiveKind.Tar;
        return ArchiveKind.Unknown;
    }
}
