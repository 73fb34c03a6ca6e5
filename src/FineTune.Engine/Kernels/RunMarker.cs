using System.Text.Json;
using FineTune.IO;

namespace FineTune.Kernels;

/// <summary>
/// A note in the experiment folder while a run is in progress, removed when it ends in any way .NET sees
/// (completion, an error, Ctrl-C). A native crash (SIGFPE, SIGSEGV in libtorch) or a kill ends the process
/// without a word and leaves the note behind, so the next start can say what happened, point at the
/// checkpoints (intact: they are written atomically) and check the kernels more conservatively.
/// </summary>
public sealed class RunMarker : IDisposable
{
    public const string FileName = ".run-in-progress.json";

    public sealed record Note(int Pid, DateTimeOffset Started, string Kernels);

    readonly string _path;

    RunMarker(string path) => _path = path;

    /// <summary>Writes the note for this process.</summary>
    public static RunMarker Begin(string folder, string kernels)
    {
        var path = Path.Combine(folder, FileName);
        AtomicWrite.Text(path, JsonSerializer.Serialize(new Note(Environment.ProcessId, DateTimeOffset.Now, kernels)));
        return new RunMarker(path);
    }

    public void Dispose()
    {
        try { File.Delete(_path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The note of an earlier run in <paramref name="folder"/> that ended without a word; null if none (or it is still running).</summary>
    public static Note? Unfinished(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        Note? note;
        try { note = JsonSerializer.Deserialize<Note>(File.ReadAllText(path)); }
        catch (JsonException) { note = new Note(0, File.GetLastWriteTime(path), "unknown"); }
        if (note is null || (note.Pid != Environment.ProcessId && IsAlive(note.Pid))) return null;
        return note;
    }

    static bool IsAlive(int pid) => pid > 0 && OperatingSystem.IsLinux() && Directory.Exists($"/proc/{pid}");

    /// <summary>What the next start says about it; <paramref name="unfinished"/>: the torn writes it left, already removed.</summary>
    public static string Explain(Note note, string folder, IReadOnlyList<(string Temporary, string Target)>? unfinished = null)
    {
        var checkpoints = Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*.ckpt").Select(f => new FileInfo(f)).OrderByDescending(f => f.LastWriteTimeUtc).ToList()
            : [];
        var kept = checkpoints.Count == 0
            ? "It left no checkpoint."
            : $"Its checkpoints are intact (each was written atomically): {string.Join(", ", checkpoints.Select(c => $"{c.Name} ({c.LastWriteTime:HH:mm:ss})"))}; continue with --resume {checkpoints[0].FullName}.";
        var torn = unfinished is { Count: > 0 }
            ? $" It was cut off while writing {string.Join(", ", unfinished.Select(u => u.Target))}: the unfinished copy ({string.Join(", ", unfinished.Select(u => u.Temporary))}) was never used and is now removed."
            : "";
        return $"The previous run in {folder} (pid {note.Pid}, started {note.Started:yyyy-MM-dd HH:mm:ss}) ended without finishing and without a message: "
             + $"most likely a native crash in libtorch (SIGFPE or SIGSEGV) or the process was killed. It ran with: {note.Kernels} {kept}{torn} "
             + "This run checks the kernels again one step more conservatively (channels-last off and a lower oneDNN instruction set); "
             + "the step-down stays until `finetune doctor --recheck` clears it (do that once the cause is known not to be the kernels, e.g. a kill or running out of memory).";
    }
}
