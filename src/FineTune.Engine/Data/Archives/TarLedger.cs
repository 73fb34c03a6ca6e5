using System.Formats.Tar;

namespace FineTune.Data.Archives;

/// <summary>
/// The bytes each tar entry will write, under the name extraction writes it to (<see cref="EntryPath.Segments"/>:
/// `./a/b`, `a//b` and `a/./b` are one file). A hard link is a copy of its target, so it costs the target's bytes,
/// and its target must be an earlier file by that same name. Links are the only way two names reach one file, so
/// nothing is written at or under an earlier symbolic link: then the size recorded for a name is the size of the
/// file extraction finds there. <see cref="ArchiveBudget"/> runs this over the headers before anything is written;
/// <see cref="SafeExtractor"/> runs it again as it extracts, so the two cannot disagree.
/// </summary>
sealed class TarLedger(string archive)
{
    enum Kind { File, Folder, SymbolicLink }

    readonly Dictionary<string, (Kind Kind, long Bytes)> _seen = new(StringComparer.Ordinal);

    /// <summary>The bytes <paramref name="entry"/> writes, or an <see cref="UnsafeArchiveException"/> naming it.</summary>
    public long Record(TarEntry entry)
    {
        var key = string.Join('/', EntryPath.Segments(archive, entry.Name));
        // "./" is skipped by extraction; attribute entries describe others and write nothing themselves.
        if (key.Length == 0 || entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes) return 0;
        bool isLink = entry.EntryType == TarEntryType.SymbolicLink;
        if (LinkAbove(key) is { } link)
            throw EntryPath.Refuse(archive, entry.Name, $"lies under '{link}', a symbolic link earlier in the archive (nothing is written through links)");
        if (!isLink && _seen.TryGetValue(key, out var same) && same.Kind == Kind.SymbolicLink)
            throw EntryPath.Refuse(archive, entry.Name, "would be written through the symbolic link of the same name earlier in the archive");
        (Kind kind, long bytes) = entry.EntryType switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => (Kind.File, entry.Length),
            TarEntryType.HardLink => (Kind.File, TargetBytes(entry)),
            TarEntryType.Directory => (Kind.Folder, 0L),
            TarEntryType.SymbolicLink => (Kind.SymbolicLink, CheckSymbolicLink(entry)),
            _ => throw EntryPath.Refuse(archive, entry.Name, $"is a {entry.EntryType} entry (device files, FIFOs and other special entries are not allowed)"),
        };
        _seen[key] = (kind, bytes);
        return bytes;
    }

    /// <summary>The bytes a hard link copies: those recorded for its target, which must be an earlier file.</summary>
    long TargetBytes(TarEntry entry)
    {
        string target;
        try { target = string.Join('/', EntryPath.Segments(archive, entry.LinkName, "hard link target")); }
        catch (UnsafeArchiveException) { throw EntryPath.Refuse(archive, entry.Name, $"is a hard link to '{entry.LinkName}', outside the target folder"); }
        if (LinkAbove(target) is { } link)
            throw EntryPath.Refuse(archive, entry.Name, $"is a hard link to '{entry.LinkName}', which lies under '{link}', a symbolic link");
        if (!_seen.TryGetValue(target, out var found))
            throw EntryPath.Refuse(archive, entry.Name, $"is a hard link to '{entry.LinkName}', which is not an earlier file of the archive");
        return found.Kind switch
        {
            Kind.File => found.Bytes,
            Kind.Folder => throw EntryPath.Refuse(archive, entry.Name, $"is a hard link to '{entry.LinkName}', a folder; a hard link must name an earlier file of the archive"),
            _ => throw EntryPath.Refuse(archive, entry.Name, $"is a hard link to '{entry.LinkName}', a symbolic link; a hard link must name an earlier regular file of the archive"),
        };
    }

    /// <summary>The first folder on <paramref name="key"/>'s path that an earlier entry made a symbolic link, if any.</summary>
    string? LinkAbove(string key)
    {
        for (int slash = key.IndexOf('/'); slash >= 0; slash = key.IndexOf('/', slash + 1))
            if (_seen.TryGetValue(key[..slash], out var above) && above.Kind == Kind.SymbolicLink) return key[..slash];
        return null;
    }

    /// <summary>Refuses a link that could point out of the target; a link itself writes no file bytes (0).</summary>
    long CheckSymbolicLink(TarEntry entry)
    {
        var unified = entry.LinkName.Replace('\\', '/');
        if (unified.Length == 0) throw EntryPath.Refuse(archive, entry.Name, "is a symbolic link with an empty target");
        if (unified.StartsWith('/') || Path.IsPathRooted(entry.LinkName))
            throw EntryPath.Refuse(archive, entry.Name, $"is a symbolic link to the absolute path '{entry.LinkName}', outside the target folder");
        // Only downward targets: with `..` a chain of links could climb out even when each looks inside on paper.
        if (unified.Split('/').Any(p => p == ".."))
            throw EntryPath.Refuse(archive, entry.Name, $"is a symbolic link to '{entry.LinkName}', which may point outside the target folder");
        return 0;
    }
}
