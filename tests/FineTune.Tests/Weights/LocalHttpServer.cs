using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FineTune.Tests.Weights;

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
