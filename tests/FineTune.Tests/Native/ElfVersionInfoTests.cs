using FineTune.Native;
using Xunit;

namespace FineTune.Tests.Native;

public class ElfVersionInfoTests
{
    static string TorchSharpLibrary =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchNative.LibraryFile);

    [Fact]
    public void Reads_the_versions_the_system_libstdcxx_defines()
    {
        var lib = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.First(File.Exists);
        var info = ElfVersionInfo.Read(lib);
        Assert.Contains("GLIBCXX_3.4", info.Definitions);
        Assert.Contains("CXXABI_1.3", info.Definitions);
    }

    [Fact]
    public void Reads_what_libLibTorchSharp_needs_from_libstdcxx()
    {
        var info = ElfVersionInfo.Read(TorchSharpLibrary);
        var fromStd = info.Needs.Where(n => n.File == "libstdc++.so.6").Select(n => n.Version).ToList();
        Assert.Contains("GLIBCXX_3.4.32", fromStd);
        Assert.Contains("CXXABI_1.3.13", fromStd);
        Assert.Contains(info.Needs, n => n.File == "libc.so.6");
    }

    [Fact]
    public void Marking_a_need_weak_changes_only_its_flags()
    {
        var bytes = File.ReadAllBytes(TorchSharpLibrary);
        var info = ElfVersionInfo.Parse(bytes, "lib");
        var target = info.Needs.Single(n => n.Version == "GLIBCXX_3.4.29");
        var patched = info.WithWeak(bytes, [target]);

        var after = ElfVersionInfo.Parse(patched, "patched");
        Assert.True(after.Needs.Single(n => n.Version == "GLIBCXX_3.4.29").IsWeak);
        Assert.False(after.Needs.Single(n => n.Version == "GLIBCXX_3.4.30").IsWeak);
        Assert.Equal(1, bytes.Zip(patched).Count(p => p.First != p.Second));
    }

    [Fact]
    public void Refuses_a_file_that_is_not_ELF()
    {
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionInfo.Parse("not an elf file, just text"u8.ToArray(), "notes.txt"));
        Assert.Contains("notes.txt", e.Message);
    }

    [Fact]
    public void After_the_fix_TorchSharp_computes()
    {
        TorchNative.EnsureLoaded();
        using var x = TorchSharp.torch.ones(3, 3);
        Assert.Equal(9f, x.sum().item<float>());
        Assert.DoesNotContain("not initialised", TorchNative.Status);
    }

    [CpuBuildFact]
    public void Asking_for_a_gpu_on_the_cpu_build_names_the_build_switch()
    {
        var e = Assert.Throws<NativeLibraryException>(() => TorchNative.SelectDevice("0"));
        Assert.Contains("FineTuneBackend=cuda", e.Message);
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchNative.SelectDevice(null).type);
    }
}
