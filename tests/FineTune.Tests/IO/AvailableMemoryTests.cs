using FineTune.IO;
using Xunit;

namespace FineTune.Tests.IO;

/// <summary>What the in-memory caches size their budgets from: a positive figure no larger than the machine's memory.</summary>
public class AvailableMemoryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Available_memory_is_positive_and_within_the_machines_total()
    {
        long available = AvailableMemory.Bytes();
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes; // physical memory, or the container's limit
        output.WriteLine($"available {AvailableMemory.Format(available)} of {AvailableMemory.Format(total)}");
        Assert.InRange(available, 1, total);
    }

    [Theory]
    [InlineData(1_234_567_890L, "1.2 GB")]
    [InlineData(12_345_678_901L, "12 GB")]
    [InlineData(0L, "0.0 GB")]
    public void Sizes_read_in_gigabytes(long bytes, string expected) => Assert.Equal(expected, AvailableMemory.Format(bytes));
}
