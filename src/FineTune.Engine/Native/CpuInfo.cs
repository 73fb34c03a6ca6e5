namespace FineTune.Native;

/// <summary>What identifies a CPU for the kernel check: oneDNN picks kernels (and their blocking) from these.</summary>
public sealed record CpuInfo(string? Vendor, string ModelName, string Family, string Model, string Stepping, IReadOnlyList<string> Flags, string Caches)
{
    /// <summary>Native bfloat16 arithmetic, which makes bf16 convolutions fast rather than emulated.</summary>
    public bool HasNativeBf16 => Flags.Contains("avx512_bf16") || Flags.Contains("amx_bf16");

    public override string ToString() => $"{ModelName} (family {Family}, model {Model}; caches {Caches})";

    public static CpuInfo Current { get; } = Read();

    static CpuInfo Read()
    {
        var fields = new Dictionary<string, string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.Length == 0) break; // the first processor is enough: cloud VMs present identical cores
                var colon = line.IndexOf(':');
                if (colon > 0) fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var flags = fields.GetValueOrDefault("flags", "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
        return new CpuInfo(fields.GetValueOrDefault("vendor_id"), fields.GetValueOrDefault("model name", Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "unknown CPU"),
            fields.GetValueOrDefault("cpu family", "?"), fields.GetValueOrDefault("model", "?"), fields.GetValueOrDefault("stepping", "?"),
            flags, ReadCaches());
    }

    /// <summary>Cache sizes as Linux reports them (a fault seen so far followed an odd L3 report).</summary>
    static string ReadCaches()
    {
        var root = "/sys/devices/system/cpu/cpu0/cache";
        if (!Directory.Exists(root)) return "unknown";
        var parts = new List<string>();
        foreach (var dir in Directory.GetDirectories(root, "index*").Order(StringComparer.Ordinal))
        {
            string Read(string name) { try { return File.ReadAllText(Path.Combine(dir, name)).Trim(); } catch (IOException) { return "?"; } }
            parts.Add($"L{Read("level")} {Read("type")} {Read("size")}/{Read("ways_of_associativity")}-way");
        }
        return string.Join(", ", parts);
    }
}
