using FineTune.Logging;

namespace FineTune.Training;

/// <summary>
/// Where training's words go: summary lines to the host's logger (through <paramref name="lines"/>), per-batch
/// <see cref="ProgressUpdate"/>s to <paramref name="updates"/> (a progress bar), warnings to <paramref name="warnings"/>.
/// Each is optional; <see cref="Silent"/> has none.
/// </summary>
public sealed class ProgressReporter(TextWriter lines, IProgress<ProgressUpdate>? updates = null, LoggerWriter? warnings = null)
{
    ProgressPhase _phase;
    string _label = "";
    int _total;

    public static ProgressReporter Silent() => new(TextWriter.Null);

    public void Line(string text) => lines.WriteLine(text);

    /// <summary>Something to act on; on a rank other than the main one this is all it says.</summary>
    public void Warning(string text) => warnings?.Warning(text);

    public void StartPhase(ProgressPhase phase, string label, int totalBatches) => (_phase, _label, _total) = (phase, label, totalBatches);

    /// <summary>
    /// Reports <paramref name="done"/> of the phase's batches; <paramref name="imagesPerSecond"/> is measured since the phase began.
    /// A NaN loss leaves loss and accuracy out (phases that compute neither, such as feature extraction).
    /// </summary>
    public void Step(int done, double meanLoss, double accuracy, double imagesPerSecond, TimeSpan elapsed, int doneThisSession)
    {
        if (updates is null) return;
        var remaining = doneThisSession > 0 ? TimeSpan.FromSeconds(elapsed.TotalSeconds / doneThisSession * (_total - done)) : TimeSpan.Zero;
        updates.Report(new ProgressUpdate(_phase, _label, done, _total, meanLoss, accuracy, imagesPerSecond, elapsed, remaining));
    }

    public static string Clock(TimeSpan t) => TextProgress.Clock(t);
}
