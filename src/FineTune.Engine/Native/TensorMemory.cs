using System.Runtime.InteropServices;

namespace FineTune.Native;

/// <summary>
/// How the native heap treats tensor memory. Why it matters: a ResNet training step allocates and frees
/// gigabytes of activations and gradients. Blocks of 32 MiB and more are mmap'ed by glibc and unmapped on
/// free, so every step faults in (and the kernel zeroes) fresh pages again: 0.7 GB for ResNet-18 at batch 32.
/// </summary>
public static class TensorMemory
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4;

    /// <summary>
    /// Keeps freed blocks in the heap (no mmap for big blocks, no trimming), so later steps reuse pages that
    /// are already mapped. Costs resident memory: the heap keeps its high-water mark. glibc only; false where
    /// the C library has no mallopt.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1; }
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
