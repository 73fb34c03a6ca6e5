using FineTune.Native;
using Xunit;

namespace FineTune.Tests.Native;

public class TensorMemoryTests
{
    [Fact]
    public void Loading_libtorch_sets_the_heap_policy_once_and_says_which()
    {
        TorchNative.EnsureLoaded();
        Assert.True(TensorMemory.Applied);
        bool optedOut = Environment.GetEnvironmentVariable(TensorMemory.OptOutVariable) == "1";
        // glibc (this project's Linux target) has mallopt, so freed memory is kept unless the user opted out.
        if (OperatingSystem.IsLinux() && !optedOut)
        {
            Assert.True(TensorMemory.KeepsFreedMemory);
            Assert.StartsWith("freed tensor memory kept mapped", TensorMemory.Description);
        }
        else Assert.False(TensorMemory.KeepsFreedMemory);

        // A second application changes nothing (mallopt is process-wide; the policy is decided once).
        var before = TensorMemory.Description;
        TensorMemory.ApplyProcessDefault();
        Assert.Equal(before, TensorMemory.Description);
    }
}
