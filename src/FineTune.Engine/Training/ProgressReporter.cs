using System.Diagnostics;
using System.Globalization;

namespace FineTune.Training;

/// <summary>
/// Per-epoch progress: a live bar redrawn in place on a terminal, or about ten plain lines per phase when the
/// output is redirected to a file or CI log (where carriage returns would make a mess).
/// </summary>
public sealed class ProgressReporter(TextWriter output, bool interactive)
{
    const int BarWidth = 24;
    readonly Stopwatch _sinceDraw = new();
    string _label = "";
    int _total, _lastPrinted;

    public static ProgressReporter ForConsole() => new(Console.Out, !Console.IsOutputRedirected);
    public static ProgressReporter Silent() => new(TextWriter.Null, false);

    public bool Interactive => interactive;

    public void Line(string text) => output.WriteLine(text);

    public void StartPhase(string label, int totalBatches)
    {
        _label = label; _total = totalBatches; _lastPrinted = 0;
        _sinceDraw.Restart();
    }

    /// <summary>
    /// Reports <paramref name="done"/> of the phase's batches; <paramref name="imagesPerSecond"/> is measured since the phase began.
    /// A NaN loss leaves loss and accuracy out (phases that compute neither, such as feature extraction).
    /// </summary>
    public void Step(int done, double meanLoss, double accuracy, double imagesPerSecond, TimeSpan elapsed, int doneThisSession)
    {
        bool last = done >= _total;
        var remaining = doneThisSession > 0 ? TimeSpan.FromSeconds(elapsed.TotalSeconds / doneThisSession * (_total - done)) : TimeSpan.Zero;
        var metrics = double.IsNaN(meanLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $" loss {meanLoss:0.0000} acc {accuracy * 100:0.00}%");
        var stats = string.Create(CultureInfo.InvariantCulture, $"{done}/{_total}{metrics} {imagesPerSecond:0.0} img/s ETA {Clock(remaining)}");
        if (interactive)
        {
            if (!last && _sinceDraw.ElapsedMilliseconds < 200) return;
            int filled = _total == 0 ? BarWidth : (int)((long)BarWidth * done / _total);
            output.Write($"\r{_label} [{new string('#', filled)}{new string('-', BarWidth - filled)}] {stats}\u001b[K");
            if (last) output.WriteLine();
            _sinceDraw.Restart();
        }
        else
        {
            int every = Math.Max(1, _total / 10);
            if (!last && done - _lastPrinted < every) return;
            output.WriteLine($"{_label} {stats}");
            _lastPrinted = done;
        }
        output.Flush();
    }

    public static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
}
