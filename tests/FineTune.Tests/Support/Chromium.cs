using System.Diagnostics;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>
/// Debian's chromium, headless, for tests that must see a page the way a person's browser does: its DOM after the
/// scripts ran, a screenshot, and the console messages (logged to stderr as ":CONSOLE" lines).
/// </summary>
static class Chromium
{
    public const string DefaultPath = "/usr/bin/chromium";
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    /// <summary>The browser to run: FINETUNE_CHROMIUM when set, else Debian's chromium.</summary>
    static string Wanted => Environment.GetEnvironmentVariable("FINETUNE_CHROMIUM") is { Length: > 0 } own ? own : DefaultPath;

    /// <summary>The browser's path, or null when it is not there.</summary>
    public static string? Path => File.Exists(Wanted) ? Wanted : null;

    public static string? WhyUnavailable => Path is null
        ? $"{Wanted} not found: install Debian's chromium (`apt-get install chromium`, as .ci/run does) or point FINETUNE_CHROMIUM at a chromium"
        : null;

    /// <summary>The page's DOM after its scripts ran (<c>--dump-dom</c>), with chromium's log.</summary>
    public static ProcessResult DumpDom(string html) => Run(html, "--dump-dom");

    /// <summary>A <paramref name="width"/> x <paramref name="height"/> screenshot of the page into <paramref name="png"/>, with chromium's log.</summary>
    public static ProcessResult Screenshot(string html, string png, int width, int height) =>
        Run(html, $"--screenshot={png}", $"--window-size={width},{height}");

    /// <summary>The lines of chromium's log that are the page's console messages: errors, and anything else the page printed.</summary>
    public static IReadOnlyList<string> ConsoleLines(ProcessResult run) =>
        run.Err.Split('\n').Where(line => line.Contains(":CONSOLE", StringComparison.Ordinal) || line.Contains("Uncaught", StringComparison.Ordinal)).ToList();

    static ProcessResult Run(string html, params string[] action)
    {
        // A fresh profile each run: nothing cached from another page, and no lock held by another chromium.
        using var profile = new TempFolder();
        var start = new ProcessStartInfo(Path ?? throw new InvalidOperationException(WhyUnavailable));
        foreach (var argument in new[]
                 {
                     "--headless=new", "--no-sandbox", // tests run as root in CI, where the sandbox refuses to start
                     "--disable-gpu", "--enable-logging=stderr", "--v=0", $"--user-data-dir={profile.Path}",
                     "--virtual-time-budget=5000", "--hide-scrollbars",
                 }.Concat(action).Append(new Uri(System.IO.Path.GetFullPath(html)).AbsoluteUri))
            start.ArgumentList.Add(argument);
        var result = Processes.Run(start, timeout: Limit);
        Xunit.Assert.False(result.TimedOut, $"chromium did not finish within {Limit}: {result.Err}");
        return result;
    }
}
