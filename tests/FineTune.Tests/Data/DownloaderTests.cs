using System.Security.Cryptography;
using FineTune.IO;
using Xunit;

namespace FineTune.Tests.Data;

public class DownloaderTests
{
    static readonly byte[] Content = RandomNumberGenerator.GetBytes(300_000);
    static readonly string Sha = Convert.ToHexStringLower(SHA256.HashData(Content));

    [Fact]
    public void An_interrupted_download_resumes_and_is_verified()
    {
        using var server = new LocalServer(Content) { CutAfter = 100_000 };
        var dest = Path.Combine(TestFiles.TempDir("dl"), "caltech-101.zip");
        Assert.ThrowsAny<IOException>(() => Download.Fetch(server.Url, dest, new DownloadCheck(Content.Length, Sha)));
        Assert.False(File.Exists(dest));
        Assert.True(new FileInfo(dest + ".part").Length > 0);

        server.CutAfter = int.MaxValue;
        Download.Fetch(server.Url, dest, new DownloadCheck(Content.Length, Sha));
        Assert.Equal(Content, File.ReadAllBytes(dest));
        Assert.False(File.Exists(dest + ".part"));
        Assert.StartsWith("bytes=", server.Ranges[^1]); // the second request asked for the rest only
    }

    [Fact]
    public void A_wrong_checksum_is_refused_and_the_file_deleted()
    {
        using var server = new LocalServer(Content);
        var dest = Path.Combine(TestFiles.TempDir("dlbad"), "caltech-101.zip");
        var e = Assert.Throws<InvalidDataException>(() => Download.Fetch(server.Url, dest, new DownloadCheck(Sha256: new string('0', 64))));
        Assert.Contains("SHA-256", e.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(dest + ".part"));
    }

    [Fact]
    public void Without_a_checksum_a_complete_download_is_kept()
    {
        using var server = new LocalServer(Content);
        var dest = Path.Combine(TestFiles.TempDir("dlsize"), "x.zip");
        Download.Fetch(server.Url, dest);
        Assert.Equal(Content, File.ReadAllBytes(dest));
    }

    [Fact]
    public void Size_announced_by_the_server_is_checked_without_a_checksum()
    {
        // The server answers the resumed request with 206 but sends the whole file again: appended to the part,
        // that is 400,000 bytes against the 300,000 its Content-Range announces. HTTP framing is intact, and there
        // is no checksum, so only the size check stands between this and a corrupt archive.
        using var server = new LocalServer(Content) { ResendWholeOn206 = true };
        var dest = Path.Combine(TestFiles.TempDir("dlsize"), "x.zip");
        File.WriteAllBytes(dest + ".part", Content[..100_000]);
        var e = Assert.Throws<InvalidDataException>(() => Download.Fetch(server.Url, dest));
        Assert.Contains("expected 300", e.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(dest + ".part"), "a part longer than the file cannot be resumed: it is deleted");
    }
}
