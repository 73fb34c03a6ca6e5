using FineTune.Cli;
using FineTune.Weights.Onnx;
using Xunit;

namespace FineTune.Tests.Cli;

/// <summary>
/// `finetune` maps FineTuneException to its exit code, not a list of type names: so every exception type the program
/// defines must derive from it, or a failure the user could fix would end in a stack trace.
/// </summary>
public sealed class ExitCodeTests
{
    [Fact]
    public void Every_exception_type_of_the_inference_package_the_engine_and_the_program_is_a_FineTuneException()
    {
        var types = new[] { typeof(FineTuneException).Assembly, typeof(Classifier).Assembly, typeof(UsageException).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => typeof(Exception).IsAssignableFrom(t) && t != typeof(FineTuneException));
        var stray = types.Where(t => !t.IsSubclassOf(typeof(FineTuneException))).Select(t => t.FullName).ToList();
        Assert.True(stray.Count == 0, $"derive these from FineTuneException (with their exit code): {string.Join(", ", stray)}");
        Assert.Contains(typeof(InvalidOnnxModelException), types);
        Assert.Contains(typeof(FineTune.Data.ImageDecodeException), types);
    }

    [Fact]
    public void The_command_line_and_the_device_are_usage_errors_and_the_rest_failures()
    {
        Assert.Equal(ExitCodes.Usage, new UsageException("x").ExitCode);
        Assert.Equal(ExitCodes.Usage, new DeviceNotAvailableException("x").ExitCode);
        Assert.Equal(ExitCodes.Failure, new InvalidOnnxModelException("x").ExitCode);
        Assert.Equal(2, ExitCodes.Usage);
        Assert.Equal(1, ExitCodes.Failure);
    }
}
