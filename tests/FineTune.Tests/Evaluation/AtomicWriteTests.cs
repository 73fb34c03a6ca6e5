using FineTune.IO;
using Xunit;

namespace FineTune.Tests.Evaluation;

public class AtomicWriteTests
{
    [Fact]
    public void A_write_that_fails_midway_leaves_the_old_file_and_no_temporary_file()
    {
        using var folder = new TempFolder();
        var path = folder.File("report.txt");
        AtomicWrite.Text(path, "old report\n");
        Assert.Throws<InvalidOperationException>(() => AtomicWrite.With(path, stream =>
        {
            stream.Write("half of a new rep"u8);
            throw new InvalidOperationException("crash while writing");
        }));
        Assert.Equal("old report\n", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void A_successful_write_replaces_the_file_and_creates_missing_folders()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "a", "b", "summary.json");
        AtomicWrite.Text(path, "one");
        AtomicWrite.Text(path, "two");
        Assert.Equal("two", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }
}
