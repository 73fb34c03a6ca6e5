using System.Text;
using System.Text.RegularExpressions;

namespace FineTune.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the whole new one, never a torn file:
/// the bytes go to a temporary file in the same folder (same file system, so the rename is atomic),
/// are flushed to disk, and the temporary file is then renamed over the target.
/// </summary>
public static partial class AtomicWrite
{
    static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    public static void Text(string path, string text) => Bytes(path, Utf8NoBom.GetBytes(text));

    public static void Bytes(string path, ReadOnlySpan<byte> bytes)
    {
        var bytesCopy = bytes.ToArray();
        With(path, stream => stream.Write(bytesCopy));
    }

    /// <summary>Lets <paramref name="write"/> fill the temporary file, then publishes it under <paramref name="path"/>.</summary>
    public static void With(string path, Action<Stream> write)
    {
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Removes the temporary files in <paramref name="folder"/> of writes that never finished (the writer was killed
    /// mid-write) and returns their names, each with the file it was to become. Call it only when no live process writes
    /// there: a temporary file in use looks the same.
    /// </summary>
    public static IReadOnlyList<(string Temporary, string Target)> RemoveUnfinished(string folder)
    {
        if (!Directory.Exists(folder)) return [];
        var removed = new List<(string, string)>();
        foreach (var path in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            var name = Path.GetFileName(path);
            if (TemporaryName().Match(name) is not { Success: true } m) continue;
            TryDelete(path);
            if (!File.Exists(path)) removed.Add((name, m.Groups[1].Value));
        }
        return removed;
    }

    /// <summary>The temporary name <see cref="With"/> gives: `.{target}.{32 hex digits}.tmp`.</summary>
    [GeneratedRegex(@"^\.(.+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryName();

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* the original error matters more than a leftover temporary file */ }
        catch (UnauthorizedAccessException) { }
    }
}
