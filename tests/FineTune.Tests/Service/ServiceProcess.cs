using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FineTune.Tests.Config;

namespace FineTune.Tests.Service;

/// <summary>
/// samples/ClassifyService as a user runs it: <c>dotnet ClassifyService.dll --model ... --urls http://127.0.0.1:0</c>
/// (the test project builds the sample before itself and runs it from the sample's own output folder), on a port the system picks; the address
/// is read from the line ASP.NET Core prints when it listens. Disposing kills it.
/// </summary>
sealed partial class ServiceProcess : IDisposable
{
    /// <summary>The sample's own build output, in this test build's configuration (bin/&lt;Configuration&gt;/net10.0 here).</summary>
    public static readonly string Program = RepoFiles.Path("samples", "ClassifyService", "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "ClassifyService.dll");
    static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(1);

    readonly Process _process;
    readonly StringBuilder _log = new();
    readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Where the service listens, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Everything the service printed so far (both streams).</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    ServiceProcess(string[] args)
    {
        _process = new Process { StartInfo = StartInfo(args), EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) => Line(e.Data);
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"ClassifyService exited ({_process.ExitCode}) before listening:\n{Log}"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!_listening.Task.Wait(StartLimit))
        {
            Dispose();
            throw new TimeoutException($"ClassifyService did not listen within {StartLimit}:\n{Log}");
        }
        BaseAddress = _listening.Task.Result;
    }

    /// <summary>Starts the service with <paramref name="args"/> (e.g. --model X) on a free loopback port and waits until it listens.</summary>
    public static ServiceProcess Start(params string[] args) => new(args);

    /// <summary>Runs the service to its end (for arguments it must refuse at start-up).</summary>
    public static ProcessResult RunToEnd(params string[] args) => Processes.Run(StartInfo(args), timeout: StartLimit);

    static ProcessStartInfo StartInfo(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[Program, .. args, "--urls", "http://127.0.0.1:0"]) start.ArgumentList.Add(a);
        // Plain log lines (no colours): the listening line is read from them.
        start.Environment["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "false";
        start.Environment["CLASSIFY_MODEL"] = null;
        start.Environment["CLASSIFY_MAX_UPLOAD_MB"] = null;
        return start;
    }

    void Line(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
        if (ListeningLine().Match(line) is { Success: true } m) _listening.TrySetResult(new Uri(m.Groups[1].Value + "/"));
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();

    /// <summary>The service's resident memory now (VmRSS of /proc/PID/status), in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>A client for this service (the caller disposes it).</summary>
    public HttpClient Client() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException) { } // never started
        _process.Dispose();
    }

    /// <summary>An image as a browser's form sends it: multipart/form-data, the file in field <paramref name="field"/>.</summary>
    public static MultipartFormDataContent Form(byte[] bytes, string fileName = "photo.jpg", string mediaType = "image/jpeg", string field = "image")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return new MultipartFormDataContent { { file, field, fileName } };
    }

    /// <summary>The raw bytes as the request body with <paramref name="mediaType"/>.</summary>
    public static ByteArrayContent Raw(byte[] bytes, string mediaType = "image/jpeg")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    /// <summary>A successful answer's top classes, or a failed assertion with the status and body.</summary>
    public static async Task<List<(string Class, double Probability)>> TopClassesAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Xunit.Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.GetProperty("top").EnumerateArray().Select(c => (c.GetProperty("class").GetString()!, c.GetProperty("probability").GetDouble()))];
    }
}
