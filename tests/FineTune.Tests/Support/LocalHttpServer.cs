using System.Net;
using System.Net.Sockets;
using System.Text;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that serves fixed files and answers 404 otherwise:
/// the only network the download tests use.
/// </summary>
sealed class LocalHttpServer : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly Dictionary<string, byte[]> _files;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;

    public List<string> Requests { get; } = [];

    public LocalHttpServer(Dictionary<string, byte[]> files)
    {
        _files = files;
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/models/";

    async Task Serve()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            using (client)
            {
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                var requestLine = await reader.ReadLineAsync() ?? "";
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync())) { } // headers
                var path = requestLine.Split(' ') is [_, var p, ..] ? p : "";
                lock (Requests) Requests.Add(path);
                var name = path.StartsWith("/models/") ? path["/models/".Length..] : "";
                var (status, body) = _files.TryGetValue(name, out var bytes) ? ("200 OK", bytes) : ("404 Not Found", "not found"u8.ToArray());
                var head = $"HTTP/1.1 {status}\r\nContent-Length: {body.Length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                await stream.WriteAsync(body);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    /// <summary>A loopback port with nothing listening: a "network" that refuses every connection.</summary>
    public static string UnreachableBaseUrl()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return $"http://127.0.0.1:{port}/models/";
    }
}

/// <summary>Tests that set or read FINETUNE_WEIGHTS_BASE_URL (process-wide) run one at a time.</summary>
[Xunit.CollectionDefinition(Name)]
public sealed class EnvironmentCollection
{
    public const string Name = "weights base URL";
}

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
