using System.Globalization;

namespace FineTune.IO;

/// <summary>
/// How much memory this process could still take without the machine swapping or its container killing it: what each
/// in-memory cache (decoded images, frozen activations) sizes its budget from, so a folder of 100,000 photos fills a
/// bounded share of the machine instead of all of it.
/// </summary>
public static class AvailableMemory
{
    /// <summary>
    /// The smaller of Linux's MemAvailable (free memory plus what the kernel can reclaim) and the room left under this
    /// process's cgroup limit (a container's memory.max, minus memory.current); where neither can be read (not Linux),
    /// half of what .NET reports the process may use.
    /// </summary>
    public static long Bytes()
    {
        long? machine = MemInfoKilobytes("MemAvailable:") * 1024;
        long? container = CgroupRoom();
        if (machine is null && container is null) return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
        return Math.Min(machine ?? long.MaxValue, container ?? long.MaxValue);
    }

    /// <summary>A share of <see cref="Bytes"/> in words, for the line a cache prints when it had to stop short: "1.2 GB".</summary>
    public static string Format(long bytes) => (bytes / 1e9).ToString(bytes < 10e9 ? "0.0" : "0", CultureInfo.InvariantCulture) + " GB";

    static long? MemInfoKilobytes(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    /// <summary>
    /// The room left under this process's cgroup memory limit: v2's memory.max minus memory.current, or v1's
    /// memory.limit_in_bytes minus memory.usage_in_bytes; null where there is no limit or no cgroup file to read. Inside a
    /// container the group's own folder is the mount's root, so that is read when the named path is not there.
    /// </summary>
    static long? CgroupRoom()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/self/cgroup");
            if (lines.FirstOrDefault(l => l.Contains(":memory:", StringComparison.Ordinal)) is { } v1)
                return Room("/sys/fs/cgroup/memory", v1[(v1.IndexOf(":memory:", StringComparison.Ordinal) + 8)..], "memory.limit_in_bytes", "memory.usage_in_bytes");
            if (lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal)) is { } v2)
                return Room("/sys/fs/cgroup", v2[3..], "memory.max", "memory.current");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    static long? Room(string mount, string group, string limitFile, string usageFile)
    {
        var dir = Path.Combine(mount, group.TrimStart('/'));
        if (!File.Exists(Path.Combine(dir, limitFile))) dir = mount;
        if (!File.Exists(Path.Combine(dir, limitFile))) return null;
        var limit = File.ReadAllText(Path.Combine(dir, limitFile)).Trim();
        // "max" (v2) or a page-rounded 2^63 (v1): no limit.
        if (limit == "max" || !long.TryParse(limit, CultureInfo.InvariantCulture, out long max) || max >= 1L << 60) return null;
        long used = long.Parse(File.ReadAllText(Path.Combine(dir, usageFile)).Trim(), CultureInfo.InvariantCulture);
        return Math.Max(0, max - used);
    }
}
