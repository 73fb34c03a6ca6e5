using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>
/// Headless chromium driven through its DevTools protocol, for pages a person uses rather than reads: choose a file in
/// a file input, click a button, wait for the page's answer, read the DOM. (<see cref="Chromium.DumpDom"/> cannot do
/// this: a file input can only be filled by a person or by DevTools' DOM.setFileInputFiles.) The page's console errors,
/// uncaught exceptions and browser-side errors (a blocked script, a failed load) are collected in <see cref="Errors"/>.
/// </summary>
sealed class ChromiumDevTools : IAsyncDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    readonly Process _browser;
    readonly TempFolder _profile;
    readonly ClientWebSocket _socket = new();
    readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    readonly List<string> _errors = [];
    readonly StringBuilder _log = new();
    Task _reader = Task.CompletedTask;
    int _lastId;

    ChromiumDevTools(Process browser, TempFolder profile) => (_browser, _profile) = (browser, profile);

    /// <summary>Console errors, uncaught exceptions and browser errors the page caused so far.</summary>
    public IReadOnlyList<string> Errors { get { lock (_errors) return [.. _errors]; } }

    /// <summary>Starts chromium, connects to its blank tab and opens <paramref name="url"/> there, waiting until it has loaded.</summary>
    public static async Task<ChromiumDevTools> OpenAsync(string url)
    {
        var profile = new TempFolder();
        var start = new ProcessStartInfo(Chromium.Path ?? throw new InvalidOperationException(Chromium.WhyUnavailable))
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        // Port 0: chromium picks a free port and writes it to DevToolsActivePort in the profile.
        foreach (var a in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0", $"--user-data-dir={profile.Path}", "--window-size=1024,768", "about:blank" })
            start.ArgumentList.Add(a);
        var browser = Process.Start(start)!;
        var page = new ChromiumDevTools(browser, profile);
        browser.OutputDataReceived += (_, e) => page.Log(e.Data);
        browser.ErrorDataReceived += (_, e) => page.Log(e.Data);
        browser.BeginOutputReadLine();
        browser.BeginErrorReadLine();
        try
        {
            await page.ConnectAsync();
            await page.SendAsync("Runtime.enable");
            await page.SendAsync("Log.enable");
            await page.SendAsync("Page.enable");
            await page.SendAsync("Page.navigate", new JsonObject { ["url"] = url });
            await page.WaitForAsync($"document.readyState === 'complete' && location.href === {JsonSerializer.Serialize(url)}", v => v.GetBoolean());
            return page;
        }
        catch
        {
            await page.DisposeAsync();
            throw;
        }
    }

    async Task ConnectAsync()
    {
        var portFile = Path.Combine(_profile.Path, "DevToolsActivePort");
        var deadline = Stopwatch.StartNew();
        string[] lines = [];
        while ((lines = File.Exists(portFile) ? await File.ReadAllLinesAsync(portFile) : []).Length < 2)
        {
            if (_browser.HasExited || deadline.Elapsed > Limit) throw new InvalidOperationException($"chromium did not open its DevTools port:\n{BrowserLog}");
            await Task.Delay(100);
        }
        using var http = new HttpClient();
        using var targets = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{lines[0]}/json/list"));
        var tab = targets.RootElement.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page" && t.GetProperty("url").GetString() == "about:blank");
        await _socket.ConnectAsync(new Uri(tab.GetProperty("webSocketDebuggerUrl").GetString()!), CancellationToken.None);
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>Calls a DevTools method and returns its result; a protocol error fails the test with it.</summary>
    public async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null)
    {
        int id = Interlocked.Increment(ref _lastId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        return await answer.Task.WaitAsync(Limit);
    }

    /// <summary>The value of a JavaScript expression in the page (promises awaited).</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
            throw new InvalidOperationException($"the page threw evaluating {expression}: {exception}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Evaluates <paramref name="expression"/> until <paramref name="done"/> holds for its value, and returns that value.</summary>
    public async Task<JsonElement> WaitForAsync(string expression, Func<JsonElement, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var value = await EvaluateAsync(expression);
            if (value.ValueKind != JsonValueKind.Undefined && done(value)) return value;
            if (deadline.Elapsed > Limit) throw new TimeoutException($"{expression} still {value} after {Limit}; page errors: {string.Join("; ", Errors)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Chooses <paramref name="file"/> in the file input <paramref name="selector"/>, as a person's file dialog does (the page gets its change event).</summary>
    public async Task ChooseFileAsync(string selector, string file)
    {
        var document = await SendAsync("DOM.getDocument");
        var input = await SendAsync("DOM.querySelector", new JsonObject { ["nodeId"] = document.GetProperty("root").GetProperty("nodeId").GetInt32(), ["selector"] = selector });
        await SendAsync("DOM.setFileInputFiles", new JsonObject { ["files"] = new JsonArray(Path.GetFullPath(file)), ["nodeId"] = input.GetProperty("nodeId").GetInt32() });
    }

    /// <summary>A left click with the mouse in the middle of <paramref name="selector"/>'s box: the page sees what a person's click makes.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($"(() => {{ const r = document.querySelector({JsonSerializer.Serialize(selector)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()");
        foreach (var type in new[] { "mousePressed", "mouseReleased" })
            await SendAsync("Input.dispatchMouseEvent", new JsonObject
            {
                ["type"] = type, ["x"] = box[0].GetDouble(), ["y"] = box[1].GetDouble(), ["button"] = "left", ["clickCount"] = 1,
            });
    }

    async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (part.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage) continue;
                using (var json = JsonDocument.Parse(message.ToArray())) Dispatch(json.RootElement);
                message.SetLength(0);
            }
        }
        catch (WebSocketException) { } // the browser went away; callers time out with its log
        foreach (var pending in _pending.Values) pending.TrySetException(new InvalidOperationException($"chromium closed the DevTools connection:\n{BrowserLog}"));
    }

    void Dispatch(JsonElement message)
    {
        if (message.TryGetProperty("id", out var id))
        {
            if (!_pending.TryRemove(id.GetInt32(), out var answer)) return;
            if (message.TryGetProperty("error", out var failure)) answer.TrySetException(new InvalidOperationException($"DevTools error: {failure}"));
            else answer.TrySetResult(message.GetProperty("result").Clone());
            return;
        }
        var parameters = message.TryGetProperty("params", out var p) ? p : default;
        string? error = message.GetProperty("method").GetString() switch
        {
            "Runtime.exceptionThrown" => $"uncaught: {parameters.GetProperty("exceptionDetails")}",
            "Runtime.consoleAPICalled" when parameters.GetProperty("type").GetString() is "error" or "assert" => $"console.error: {parameters.GetProperty("args")}",
            "Log.entryAdded" when parameters.GetProperty("entry").GetProperty("level").GetString() == "error" => $"browser: {parameters.GetProperty("entry").GetProperty("text")}",
            _ => null,
        };
        if (error is not null) lock (_errors) _errors.Add(error);
    }

    void Log(string? line)
    {
        if (line is not null) lock (_log) _log.AppendLine(line);
    }

    string BrowserLog { get { lock (_log) return _log.ToString(); } }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException) { }
        if (!_browser.HasExited) _browser.Kill(entireProcessTree: true);
        await _browser.WaitForExitAsync();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _socket.Dispose();
        _browser.Dispose();
        _profile.Dispose();
    }
}
