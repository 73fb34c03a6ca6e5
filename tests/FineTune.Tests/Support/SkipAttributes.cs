using FineTune.Charts;
using FineTune.Kernels;
using FineTune.Native;
using FineTune.Tests.Training;
using Xunit;
using BenchReference = FineTune.Benchmarks.PyTorchReference;
using PyTorchReference = FineTune.Tests.Weights.PyTorchReference;

// In FineTune.Tests (not .Support) so every test folder's namespace sees them without a using line.
namespace FineTune.Tests;

// Tests that need an optional tool, file or machine: each is reported SKIPPED with the reason and the fix when it is
// missing, never passed silently. One attribute per thing needed; the probes they ask live with their helpers.

/// <summary>A fact that needs PyTorch (Debian's python3-torch); skipped with the reason where it is absent.</summary>
public sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute()
    {
        if (PyTorchReference.WhyUnavailable is { } why) Skip = why;
    }
}

/// <summary>A theory that needs PyTorch; skipped with the reason where python3-torch is absent.</summary>
public sealed class PyTorchTheoryAttribute : TheoryAttribute
{
    public PyTorchTheoryAttribute()
    {
        if (PyTorchReference.WhyUnavailable is { } why) Skip = why;
    }
}

/// <summary>A test that runs PyTorch's side of the benchmark: skipped, with the reason, where python3-torch is absent.</summary>
public sealed class PyTorchBenchFactAttribute : FactAttribute
{
    static readonly Lazy<string?> WhyMissing = new(() =>
    {
        using var reference = BenchReference.TryCreate(BenchReference.DefaultPython, out var why);
        return reference is null ? why : null;
    });

    public PyTorchBenchFactAttribute()
    {
        if (WhyMissing.Value is { } why) Skip = $"PyTorch reference unavailable: {why}";
    }
}

/// <summary>A fact that is SKIPPED, with the reason, when Debian's python3 lacks the modules it needs.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute(string modules, string package)
    {
        if (!DebianPython.Has(modules)) Skip = $"{DebianPython.Path} cannot import {modules}: install {package} (apt) to run this check.";
    }
}

/// <summary>A test that needs PIL (python3-pil) to make its fixture: reported SKIPPED with the reason when it is absent.</summary>
public sealed class PilFactAttribute : FactAttribute
{
    public PilFactAttribute()
    {
        if (!TestFiles.HavePil) Skip = "needs /usr/bin/python3 with PIL (apt-get install python3-pil) to write CMYK/paletted/16-bit fixtures";
    }
}

/// <summary>A test that needs scikit-learn through Debian's /usr/bin/python3 (python3-sklearn); skipped with the reason when absent.</summary>
public sealed class SklearnFactAttribute : FactAttribute
{
    public SklearnFactAttribute()
    {
        if (Sklearn.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>Skips with the reason when FINETUNE_CALTECH_ARCHIVE does not name the Caltech-101 archive (CI sets it where the archive is).</summary>
public sealed class CaltechArchiveFactAttribute : FactAttribute
{
    public const string Variable = "FINETUNE_CALTECH_ARCHIVE";
    public static string? Archive => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? path : null;

    public CaltechArchiveFactAttribute()
    {
        if (Archive is null) Skip = $"{Variable} is not set (point it at 101_ObjectCategories.tar.gz to run this test on real photographs).";
        else if (!File.Exists(Archive)) Skip = $"{Variable} names {Archive}, which does not exist.";
    }
}

/// <summary>The same as <see cref="CaltechArchiveFactAttribute"/> (the name the data tests use).</summary>
public sealed class CaltechFactAttribute : FactAttribute
{
    public static string? Archive => CaltechArchiveFactAttribute.Archive;

    public CaltechFactAttribute() => Skip = new CaltechArchiveFactAttribute().Skip;
}

/// <summary>Skips with the reason unless both the Caltech-101 archive (FINETUNE_CALTECH_ARCHIVE) and Debian's PyTorch are at hand.</summary>
public sealed class CaltechPyTorchFactAttribute : FactAttribute
{
    public CaltechPyTorchFactAttribute()
    {
        Skip = new CaltechArchiveFactAttribute().Skip
               ?? new PythonFactAttribute("torch, torchvision, PIL", "python3-torch python3-torchvision python3-pil").Skip;
    }
}

/// <summary>Skips with the reason unless the Caltech-101 archive and Debian's python3 with PIL, numpy, onnx and PyTorch are at hand.</summary>
public sealed class CaltechExportFactAttribute : FactAttribute
{
    public CaltechExportFactAttribute()
    {
        Skip = new CaltechArchiveFactAttribute().Skip
               ?? new PythonFactAttribute("PIL, numpy, onnx, torch, torchvision", "python3-pil python3-numpy python3-onnx python3-torch python3-torchvision").Skip;
    }
}

/// <summary>A test that needs a font with glyphs (Debian: fonts-dejavu-core); skipped with the reason when none is found.</summary>
public sealed class FontFactAttribute : FactAttribute
{
    public FontFactAttribute()
    {
        if (ChartFont.Warning is { } reason) Skip = reason;
    }
}

/// <summary>A test that launches mpirun: reported as skipped, with the reason, where Open MPI is not installed.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    internal const string Missing = "mpirun not found on PATH: install Open MPI (`apt-get install openmpi-bin libopenmpi-dev`) to run the 2-rank tests.";

    public MpiFactAttribute()
    {
        if (MpiJob.MpirunPath is null) Skip = Missing;
    }
}

/// <summary>A theory that launches mpirun; skipped as <see cref="MpiFactAttribute"/> is.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (MpiJob.MpirunPath is null) Skip = MpiFactAttribute.Missing;
    }
}

/// <summary>Runs only where libtorch has no CUDA; elsewhere it reports itself skipped, saying why.</summary>
public sealed class CpuBuildFactAttribute : FactAttribute
{
    public CpuBuildFactAttribute()
    {
        TorchNative.EnsureLoaded();
        if (TorchSharp.torch.cuda.is_available()) Skip = "CUDA is available here: there is no CPU-only build to refuse a GPU";
    }
}

/// <summary>A fact about CPU-only machines; SKIPPED with the reason where CUDA is usable.</summary>
public sealed class CpuOnlyFactAttribute : FactAttribute
{
    public CpuOnlyFactAttribute()
    {
        if (TorchSharp.torch.cuda.is_available()) Skip = "CUDA is available here, so --gpu trains on the GPU instead of failing.";
    }
}

/// <summary>A test that asks oneDNN for AVX2, skipped (with the reason) on a CPU without it.</summary>
public sealed class Avx2FactAttribute : FactAttribute
{
    public Avx2FactAttribute()
    {
        if (!CpuInfo.Current.Flags.Contains("avx2")) Skip = "this CPU has no AVX2, the instruction set this test caps oneDNN at";
    }
}

/// <summary>A test that opens a page in headless chromium; SKIPPED with the reason where it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.WhyUnavailable is { } why) Skip = why;
    }
}
