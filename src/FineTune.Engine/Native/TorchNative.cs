using System.Runtime.InteropServices;
using TorchSharp;

namespace FineTune.Native;

/// <summary>A native library that cannot be loaded; the message is one sentence with the fix.</summary>
public sealed class NativeLibraryException(string message) : FineTuneException(message);

/// <summary>
/// Makes TorchSharp's native library loadable before anything touches <c>torch</c>.
///
/// Why: libLibTorchSharp.so of TorchSharp 0.107 declares a need for GLIBCXX_3.4.32 (GCC 13's libstdc++),
/// but Debian 12 ships GCC 12's (up to GLIBCXX_3.4.30), so dlopen refuses it. The only symbol bound to
/// that version is std::ios_base_library_init(), which GCC 13's iostream merely references and which is
/// never called through a relocation. Marking that one version-need weak (VER_FLG_WEAK) makes the loader
/// warn instead of refusing. This is done only when the system's libstdc++ really lacks the version, so
/// newer distributions (Debian 13, Ubuntu 24.04, Fedora 39+) load the file untouched.
/// </summary>
public static class TorchNative
{
    public const string LibraryFile = "libLibTorchSharp.so";

    /// <summary>Versions known to be safe to weaken: only referenced, never bound at run time.</summary>
    static readonly HashSet<string> SafeToWeaken = ["GLIBCXX_3.4.32"];

    static readonly object Gate = new();
    static bool _ready;

    /// <summary>What the fix did, for logs and `finetune models`.</summary>
    public static string Status { get; private set; } = "not initialised";

    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_ready) return;
            if (OperatingSystem.IsLinux()) Status = PrepareLinuxLibrary();
            TensorMemory.ApplyProcessDefault(); // before libtorch's first allocation
            try
            {
                // Forces the native load (TorchSharp initialises on first use of torch).
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e)
            {
                throw new NativeLibraryException(
                    $"TorchSharp's native library could not be loaded ({FirstLine(e)}; {Status}); run `dotnet restore` so the libtorch-cpu-linux-x64 package is present, and on Linux make sure a libstdc++ from GCC 12 or newer is installed.");
            }
            _ready = true;
        }
    }

    /// <summary>Maps the seed's --gpu option to a device; ends with the build switch when CUDA is absent.</summary>
    public static torch.Device SelectDevice(string? gpu)
    {
        EnsureLoaded();
        if (string.IsNullOrWhiteSpace(gpu)) return torch.CPU;
        var first = gpu.Split(',')[0].Trim();
        if (!int.TryParse(first, out var index) || index < 0)
            throw new ArgumentException($"--gpu expects device numbers such as 0 or 0,1,2,3; got '{gpu}'.");
        if (!torch.cuda.is_available())
            throw new NativeLibraryException(
                $"--gpu {gpu} asks for CUDA, but this build has the CPU backend only: rebuild with `dotnet build -p:FineTuneBackend=cuda` (needs TorchSharp-cuda-linux from nuget.org and an NVIDIA driver), or leave out --gpu to train on the CPU.");
        return new torch.Device(DeviceType.CUDA, index);
    }

    static string PrepareLinuxLibrary()
    {
        var library = FindLibrary();
        if (library is null) return "libLibTorchSharp.so not found next to the program; TorchSharp probes on its own";

        var systemLib = LoadedPathOf("libstdc++.so.6");
        if (systemLib is null) return "system libstdc++ not found; library left as shipped";

        var have = new HashSet<string>(ElfVersionInfo.Read(systemLib).Definitions);
        var bytes = File.ReadAllBytes(library);
        var info = ElfVersionInfo.Parse(bytes, library);
        var missing = info.Needs.Where(n => n.File == "libstdc++.so.6" && !n.IsWeak && !have.Contains(n.Version)).ToList();
        if (missing.Count == 0)
            return info.Needs.Any(n => n.IsWeak) ? $"{library} already patched" : "system libstdc++ is new enough; library left as shipped";

        var unsafeMissing = missing.Where(n => !SafeToWeaken.Contains(n.Version)).Select(n => n.Version).ToList();
        if (unsafeMissing.Count > 0)
            throw new NativeLibraryException(
                $"{LibraryFile} needs {string.Join(", ", unsafeMissing)} from libstdc++.so.6, which this system's {systemLib} lacks: install a newer libstdc++ (GCC 13 or later) or use a newer distribution.");

        // Write the patched copy beside the original, then swap it in atomically.
        var temp = library + $".patch-{Environment.ProcessId}";
        try
        {
            File.WriteAllBytes(temp, info.WithWeak(bytes, missing));
            File.Move(temp, library, overwrite: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            TryDelete(temp);
            throw new NativeLibraryException(
                $"{library} needs {string.Join(", ", missing.Select(m => m.Version))} which this system's libstdc++ lacks, and FineTune could not write its compatible copy there ({e.Message}): run `finetune models` once as a user who can write to {Path.GetDirectoryName(library)}.");
        }
        return $"marked {string.Join(", ", missing.Select(m => m.Version))} weak in {library} (system libstdc++ {systemLib} lacks it)";
    }

    /// <summary>The copy of libLibTorchSharp.so that .NET will load for this program.</summary>
    static string? FindLibrary()
    {
        var dirs = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? "" }.Distinct();
        foreach (var dir in dirs)
        {
            foreach (var candidate in new[] { Path.Combine(dir, "runtimes", "linux-x64", "native", LibraryFile), Path.Combine(dir, LibraryFile) })
                if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    static string? LoadedPathOf(string soname)
    {
        if (!NativeLibrary.TryLoad(soname, out _)) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/');
            // The mapped file is the real name (libstdc++.so.6.0.30), which starts with the soname.
            if (slash >= 0 && Path.GetFileName(line[slash..]).StartsWith(soname, StringComparison.Ordinal)) return line[slash..];
        }
        return null;
    }

    static string FirstLine(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        var text = inner.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? inner.GetType().Name;
        return text.Trim().TrimEnd('.');
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
