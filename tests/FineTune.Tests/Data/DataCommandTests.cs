using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Data;
using Xunit;

namespace FineTune.Tests.Data;

public class DataCommandTests
{
    [Fact]
    public void Synth_then_verify_succeeds()
    {
        var dir = Path.Combine(TestFiles.TempDir("cli"), "toy");
        Assert.Equal(0, DataCommand.Run(["synth", "--out", dir, "--classes", "3", "--per-class", "4"]));
        Assert.Equal(0, DataCommand.Run(["verify", "--data_dir", dir]));
        Assert.Equal(3, Directory.GetDirectories(dir).Length);
    }

    [Fact]
    public void Verify_names_an_empty_class()
    {
        var dir = TestFiles.Dataset(3);
        Directory.CreateDirectory(Path.Combine(dir, "nothing_here"));
        var e = Assert.Throws<DatasetException>(() => DataCommand.Run(["verify", "--data_dir", dir]));
        Assert.Contains("'nothing_here'", e.Message);
    }

    [Fact]
    public void Usage_errors_say_what_to_type()
    {
        Assert.Contains("data prepare", Assert.Throws<UsageException>(() => DataCommand.Run(["frobnicate"])).Message);
        Assert.Contains("--archive", Assert.Throws<UsageException>(() => DataCommand.Run(["prepare", "--out", "/tmp/x"])).Message);
        Assert.Contains("--data_dir", Assert.Throws<UsageException>(() => DataCommand.Run(["verify"])).Message);
        Assert.Contains("--colour", Assert.Throws<UsageException>(() => DataCommand.Run(["synth", "--out", "/tmp/never", "--colour", "red"])).Message);
    }
}
