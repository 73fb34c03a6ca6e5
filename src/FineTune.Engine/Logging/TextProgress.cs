using System.Diagnostics;
using System.Globalization;

namespace FineTune.Logging;

/// <summary>
/// Progress as text, as the `finetune` command shows it: a live bar redrawn in place on a terminal, or about ten plain
/// lines per phase when the output is redirected to a file or CI log (where carriage returns would make a mess).
/// </summary>
public sealed class TextProgress(TextWriter output, bool interactive) : IProgress<ProgressUpdate>
{
    const int BarWidth = 24;
    readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    string? _label;
    int _lastPrinted;

    /// <summary>The console: a bar on a terminal, plain lines when stdout is redirected.</summary>
    public static TextProgress Console() => new(System.Console.Out, !System.Console.IsOutputRedirected);

    public void Report(ProgressUpdate u)
    {
        if (u.Label != _label) { _label = u.Label; _lastPrinted = 0; _sinceDraw.Restart(); }
        var metrics = double.IsNaN(u.Loss) ? "" : string.Create(CultureInfo.InvariantCulture, $" loss {u.Loss:0.0000} acc {u.Accuracy * 100:0.00}%");
        var stats = string.Create(CultureInfo.InvariantCulture, $"{u.Done}/{u.Total}{metrics} {u.ImagesPerSecond:0.0} img/s ETA {Clock(u.Remaining)}");
        if (interactive)
        {
            if (!u.Finished && _sinceDraw.ElapsedMilliseconds < 200) return;
            int filled = u.Total == 0 ? BarWidth : (int)((long)BarWidth * u.Done / u.Total);
            output.Write($"\r{u.Label} [{new string('#', filled)}{new string('-', BarWidth - filled)}] {stats}\u001b[K");
            if (u.Finished) output.WriteLine();
            _sinceDraw.Restart();
        }
        else
        {
            int every = Math.Max(1, u.Total / 10);
            if (!u.Finished && u.Done - _lastPrinted < every) return;
            output.WriteLine($"{u.Label} {stats}");
            _lastPrinted = u.Done;
        }
        output.Flush();
    }

    /// <summary>A duration as the progress lines and summaries show it: m:ss, or h:mm:ss from an hour.</summary>
    public static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
}
