using FineTune.Benchmarks;
using Xunit;

namespace FineTune.Tests.Benchmarks;

/// <summary>A test that runs PyTorch's side of the benchmark: skipped, with the reason, where python3-torch is absent.</summary>
public sealed class PyTorchBenchFactAttribute : FactAttribute
{
    static readonly Lazy<string?> WhyMissing = new(() =>
    {
        using var reference = PyTorchReference.TryCreate(PyTorchReference.DefaultPython, out var why);
        return reference is null ? why : null;
    });

    public PyTorchBenchFactAttribute()
    {
        if (WhyMissing.Value is { } why) Skip = $"PyTorch reference unavailable: {why}";
    }
}
