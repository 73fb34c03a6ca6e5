using System.Text;

namespace FineTune.IO;

/// <summary>
/// Writes a file so that readers see either the old content or the whole new one, never a torn file:
/// the bytes go to a temporary file in the same folder (same file system, so the rename is atomic),
/// are flushed to disk, and the temporary file is then renamed over the target.
/// </summary>
public static class AtomicWrite
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

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* the original error matters more than a leftover temporary file */ }
        catch (UnauthorizedAccessException) { }
    }
}
