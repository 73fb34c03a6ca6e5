using System.Runtime.InteropServices;

namespace FineTune.Native;

/// <summary>
/// How the native heap treats tensor memory. Why it matters: a ResNet training step allocates and frees
/// gigabytes of activations and gradients. glibc serves big blocks with mmap and unmaps them on free, so every
/// step faults in (and the kernel zeroes) the same pages again. Measured on the 2-core machine (docs/throughput.md,
/// "Throughput against PyTorch"): ResNet-18 training at 224 px spent about 0.25 s of each 1.5 s step in the kernel.
/// </summary>
public static class TensorMemory
{
    /// <summary>Set to 1 to run with glibc's default heap (smaller peak RSS, slower steps).</summary>
    public const string OptOutVariable = "FINETUNE_DEFAULT_HEAP";

    const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4;
    const int NoMmap = 0, NoAutomaticTrim = int.MaxValue;

    /// <summary>
    /// The same policy as glibc environment variables, for a child process (PyTorch's side of `finetune bench
    /// --reference-kept-heap`), which reads them at start-up where we call mallopt.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> KeptHeapEnvironment = new Dictionary<string, string>
    {
        ["MALLOC_MMAP_MAX_"] = NoMmap.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["MALLOC_TRIM_THRESHOLD_"] = NoAutomaticTrim.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
    static readonly object Gate = new();
    static bool _applied;

    /// <summary>Whether this process keeps freed tensor memory mapped (see <see cref="ApplyProcessDefault"/>).</summary>
    public static bool KeepsFreedMemory { get; private set; }

    /// <summary>One phrase for logs and the benchmark header.</summary>
    public static string Description { get; private set; } = "glibc default heap (not configured yet)";

    /// <summary>
    /// The process-wide policy, applied once by <see cref="TorchNative.EnsureLoaded"/> before libtorch allocates:
    /// freed memory is kept for reuse (<see cref="KeepFreedMemory"/>) unless <see cref="OptOutVariable"/> is 1.
    /// The cost is peak RSS: the heap keeps its high-water mark between trims (measured +0.4 GiB for ResNet-18
    /// and +1.3 GiB for ResNet-50 training at batch 32, 224 px). Training's memory trace still trims every few
    /// steps (<c>MemoryTrace</c>), so a long run's RSS reflects memory in use.
    /// </summary>
    public static void ApplyProcessDefault()
    {
        lock (Gate)
        {
            if (_applied) return;
            _applied = true;
            if (Environment.GetEnvironmentVariable(OptOutVariable) == "1")
                Description = $"glibc default heap ({OptOutVariable}=1)";
            else if (KeepFreedMemory())
            {
                KeepsFreedMemory = true;
                Description = "freed tensor memory kept mapped (glibc mallopt: no mmap, no automatic trim)";
            }
            else Description = "the C library's default heap (glibc's mallopt unavailable)";
        }
    }

    /// <summary>True once <see cref="ApplyProcessDefault"/> has run: later opt-outs no longer apply in this process.</summary>
    public static bool Applied { get { lock (Gate) return _applied; } }

    /// <summary>
    /// Keeps freed blocks in the heap (no mmap for big blocks, no automatic trimming), so later steps reuse pages
    /// that are already mapped. glibc only; false where the C library has no mallopt.
    /// </summary>
    static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return mallopt(M_MMAP_MAX, NoMmap) == 1 && mallopt(M_TRIM_THRESHOLD, NoAutomaticTrim) == 1; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>
    /// Asks libtorch (2.3 and later) to back big tensors with transparent huge pages (THP_MEM_ALLOC_ENABLE):
    /// 512 times fewer page faults. libtorch reads the variable once, at its first allocation, so this must run
    /// before any tensor exists. The variable goes into the C environment (setenv), where libtorch's getenv
    /// looks; .NET's Environment.SetEnvironmentVariable does not reach it on Unix.
    /// </summary>
    public static bool UseHugePages()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return setenv("THP_MEM_ALLOC_ENABLE", "1", 1) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    [DllImport("libc")]
    static extern int mallopt(int param, int value);

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    static extern int setenv(string name, string value, int overwrite);
}
