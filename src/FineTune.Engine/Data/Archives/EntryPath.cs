namespace FineTune.Data.Archives;

/// <summary>
/// The one rule for names inside an archive: relative, no `..`, no NUL, no drive or root. Anything else could
/// write outside the target folder, so it is refused with the entry's name rather than "sanitised".
/// </summary>
static class EntryPath
{
    /// <summary>The entry's path segments, or an exception naming the entry.</summary>
    public static string[] Segments(string archive, string name, string what = "entry")
    {
        if (name.Contains('\0')) throw Refuse(archive, name, $"{what} name contains a NUL byte");
        var unified = name.Replace('\\', '/');
        if (unified.StartsWith('/') || Path.IsPathRooted(name) || (unified.Length >= 2 && unified[1] == ':'))
            throw Refuse(archive, name, $"{what} has an absolute path");
        var parts = unified.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        if (parts.Any(p => p == ".."))
            throw Refuse(archive, name, $"{what} climbs out of the target with '..'");
        return parts;
    }

    public static UnsafeArchiveException Refuse(string archive, string entry, string why) =>
        new($"Refusing archive '{archive}': entry '{entry}': {why}. Nothing was extracted; use an archive from a trusted source.");

    /// <summary>Full path under <paramref name="root"/>, checked once more against the resolved root.</summary>
    public static string Under(string root, string[] segments, string archive, string entry)
    {
        var full = Path.GetFullPath(Path.Combine([root, .. segments]));
        var rootFull = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootFull, StringComparison.Ordinal) && full + Path.DirectorySeparatorChar != rootFull)
            throw Refuse(archive, entry, "resolves outside the target folder");
        return full;
    }
}
