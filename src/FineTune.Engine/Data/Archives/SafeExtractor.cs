using System.Formats.Tar;
using System.IO.Compression;

namespace FineTune.Data.Archives;

/// <summary>
/// Extracts tar, tar.gz and zip archives without trusting them: every entry name is checked (no `..`, no absolute
/// path), links must stay inside the target (symbolic links: relative, downward targets only, nothing written through
/// one; hard links: copies of an earlier file; see <see cref="TarLedger"/>), device files and FIFOs are refused. The
/// caller extracts into a fresh temporary folder and moves it into place, so a refused or damaged archive leaves nothing behind.
/// </summary>
public static class SafeExtractor
{
    /// <summary>Extracts a tar stream (already decompressed) into <paramref name="target"/>.</summary>
    public static int ExtractTar(Stream tarStream, string target, string archiveName)
    {
        Directory.CreateDirectory(target);
        int files = 0;
        var ledger = new TarLedger(archiveName);
        using var reader = new TarReader(tarStream, leaveOpen: true);
        try
        {
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                ledger.Record(entry); // the budget's rules once more: names, link targets, nothing through a link
                var segments = EntryPath.Segments(archiveName, entry.Name);
                if (segments.Length == 0) continue; // "./"
                var path = EntryPath.Under(target, segments, archiveName, entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(path);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        using (var output = new FileStream(path, FileMode.Create, FileAccess.Write))
                            entry.DataStream?.CopyTo(output);
                        files++;
                        break;
                    case TarEntryType.SymbolicLink:
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        if (File.Exists(path) || Directory.Exists(path)) File.Delete(path);
                        File.CreateSymbolicLink(path, entry.LinkName);
                        break;
                    case TarEntryType.HardLink:
                        // The ledger found the target as an earlier file under this same normalised name.
                        var source = EntryPath.Under(target, EntryPath.Segments(archiveName, entry.LinkName, "hard link target"), archiveName, entry.Name);
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        File.Copy(source, path, overwrite: true);
                        files++;
                        break;
                    case TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes:
                        break;
                    default:
                        throw new InvalidOperationException($"TarLedger let a {entry.EntryType} entry of '{archiveName}' through.");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
        {
            throw Damaged(archiveName, e);
        }
        return files;
    }

    /// <summary>Extracts every entry of a zip file into <paramref name="target"/>, after checking all of them and their declared sizes.</summary>
    public static int ExtractZip(string zipPath, string target, ArchiveLimits? limits = null)
    {
        using var zip = OpenZip(zipPath);
        CheckZipEntries(zip, zipPath);
        ArchiveBudget.CheckZip(zip, zipPath, target, limits ?? ArchiveLimits.Default);
        Directory.CreateDirectory(target);
        int files = 0;
        try
        {
            foreach (var entry in zip.Entries)
            {
                var path = EntryPath.Under(target, EntryPath.Segments(zipPath, entry.FullName), zipPath, entry.FullName);
                if (entry.FullName.EndsWith('/')) { Directory.CreateDirectory(path); continue; }
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using (var input = entry.Open())
                using (var output = new FileStream(path, FileMode.Create, FileAccess.Write))
                    CopyAtMost(input, output, entry.Length, zipPath, entry.FullName);
                files++;
            }
        }
        catch (InvalidDataException e) { throw Damaged(zipPath, e); }
        return files;
    }

    /// <summary>The budget trusted the central directory's size; an entry that inflates past it is refused, not written on.</summary>
    static void CopyAtMost(Stream input, Stream output, long declared, string archive, string entry)
    {
        var buffer = new byte[81920];
        long written = 0;
        int n;
        while ((n = input.Read(buffer)) > 0)
        {
            written += n;
            if (written > declared) throw EntryPath.Refuse(archive, entry, $"inflates past its declared {declared} bytes");
            output.Write(buffer, 0, n);
        }
    }

    internal static ZipArchive OpenZip(string zipPath)
    {
        try { return ZipFile.OpenRead(zipPath); }
        catch (InvalidDataException e) { throw Damaged(zipPath, e); }
    }

    /// <summary>Refuses a zip whose names escape, or that holds links or special files (unix mode in the external attributes).</summary>
    internal static void CheckZipEntries(ZipArchive zip, string zipPath)
    {
        foreach (var entry in zip.Entries)
        {
            EntryPath.Segments(zipPath, entry.FullName);
            int type = (entry.ExternalAttributes >> 16) & 0xF000;
            if (type == 0xA000) throw EntryPath.Refuse(zipPath, entry.FullName, "is a symbolic link (links are not allowed in zip archives)");
            if (type is 0x2000 or 0x6000 or 0x1000 or 0xC000) throw EntryPath.Refuse(zipPath, entry.FullName, "is a device file, FIFO or socket");
        }
    }

    internal static UnsafeArchiveException Damaged(string archive, Exception e) =>
        new($"Archive '{archive}' is truncated or corrupt ({e.Message}); nothing was extracted. Download it again.");
}
