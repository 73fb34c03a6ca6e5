using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using FineTune.IO;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>A real HTTP server on 127.0.0.1 (HttpListener) that honours Range and can cut a response short.</summary>
sealed class LocalServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly byte[] _content;
    public int CutAfter { get; set; } = int.MaxValue; // bytes sent before the connection is dropped
    public List<string?> Ranges { get; } = [];
    public bool ResendWholeOn206 { get; set; } // a broken server or proxy: 206 to a range request, but the whole file again
    public Uri Url { get; }

    public LocalServer(byte[] content)
    {
        _content = content;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = new Uri($"http://127.0.0.1:{port}/caltech-101.zip");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(Serve);
    }

    async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); } catch { return; }
            var range = ctx.Request.Headers["Range"];
            lock (Ranges) Ranges.Add(range);
            long start = range is not null && range.StartsWith("bytes=") ? long.Parse(range[6..].TrimEnd('-')) : 0;
            var response = ctx.Response;
            if (start > 0)
            {
                response.StatusCode = 206;
                if (ResendWholeOn206) start = 0;
                response.AddHeader("Content-Range", $"bytes {start}-{_content.Length - 1}/{_content.Length}");
            }
            response.ContentLength64 = _content.Length - start;
            try
            {
                int send = (int)Math.Min(_content.Length - start, CutAfter);
                await response.OutputStream.WriteAsync(_content.AsMemory((int)start, send));
                if (send < _content.Length - start) { response.Abort(); continue; }
                response.Close();
            }
            catch { }
        }
    }

    public void Dispose() => _listener.Close();
}

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
