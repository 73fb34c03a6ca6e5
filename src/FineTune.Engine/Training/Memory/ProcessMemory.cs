using System.Runtime.InteropServices;

namespace FineTune.Training.Memory;

/// <summary>
/// The process's peak resident set (VmHWM in /proc/self/status), the figure PyTorch's side reports as
/// ru_maxrss. Linux lets a process reset its own peak by writing 5 to /proc/self/clear_refs, which gives a
/// peak per measured model instead of one for the whole run.
/// </summary>
public static class ProcessMemory
{
    const string Status = "/proc/self/status", ClearRefs = "/proc/self/clear_refs";

    /// <summary>Peak resident bytes, or null where /proc is not there (not Linux).</summary>
    public static long? PeakResidentBytes() => ReadKilobytes("VmHWM:") * 1024;

    /// <summary>Current resident bytes, or null where /proc is not there.</summary>
    public static long? ResidentBytes() => ReadKilobytes("VmRSS:") * 1024;

    /// <summary>
    /// Resets the peak to the current resident set; false where the kernel or sandbox does not allow it.
    /// Memory that earlier work freed is first handed back to the system (GC, then malloc_trim), so that
    /// the new peak starts from what the process really holds, as a fresh process would.
    /// </summary>
    public static bool TryResetPeak()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TryTrimNativeHeap();
        try
        {
            File.WriteAllText(ClearRefs, "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>glibc's malloc_trim(0): returns free heap pages to the system. A no-op elsewhere (musl, macOS).</summary>
    public static void TryTrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);

    static long? ReadKilobytes(string key)
    {
        if (!File.Exists(Status)) return null;
        foreach (var line in File.ReadLines(Status))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
            var number = line[key.Length..].Trim().Split(' ')[0];
            return long.TryParse(number, out var kb) ? kb : null;
        }
        return null;
    }
}
