namespace FineTune.Prediction;

/// <summary>
/// What the gallery needs of a folder's predictions, kept in bounded memory however many images stream past: the
/// counts, a histogram of top-1 confidence, the <see cref="Cap"/> least confident images, and the first unreadable files.
/// </summary>
sealed class PredictionTally(int cap)
{
    /// <summary>Bins of top-1 probability: 0-10%, 10-20%, ..., 90-100%.</summary>
    public const int Bins = 10;

    /// <summary>Unreadable files named in the page; the rest are counted there and named in the CSV.</summary>
    public const int FailuresListed = 1000;

    /// <summary>An image and its prediction, with the order it came in (ties in confidence keep the folder's order).</summary>
    public sealed record Entry(ImageToClassify Image, ImagePrediction Prediction, long Order)
    {
        public double Confidence => Prediction.TopK[0].Probability;
    }

    // A max-heap on (confidence, order): its top is the most confident of those kept, the one to drop when a less confident one comes.
    readonly PriorityQueue<Entry, (double, long)> _least = new(Comparer<(double, long)>.Create((a, b) => b.CompareTo(a)));
    readonly List<(ImageToClassify Image, string Error)> _failures = [];
    long _order;

    public int Cap { get; } = cap >= 0 ? cap : throw new ArgumentOutOfRangeException(nameof(cap), $"the gallery cap must be 0 or more; got {cap}");
    public int Images { get; private set; }
    public int Failed { get; private set; }
    public int[] Histogram { get; } = new int[Bins];
    public IReadOnlyList<(ImageToClassify Image, string Error)> FirstFailures => _failures;

    public void Add(ImageToClassify image, ImagePrediction prediction)
    {
        Images++;
        if (prediction.Error is { } error || prediction.TopK.Count == 0)
        {
            Failed++;
            if (_failures.Count < FailuresListed) _failures.Add((image, prediction.Error ?? "no prediction"));
            return;
        }
        var entry = new Entry(image, prediction, _order++);
        Histogram[Math.Clamp((int)(entry.Confidence * Bins), 0, Bins - 1)]++;
        if (Cap == 0) return;
        if (_least.Count < Cap) _least.Enqueue(entry, (entry.Confidence, entry.Order));
        else _least.EnqueueDequeue(entry, (entry.Confidence, entry.Order));
    }

    /// <summary>The kept images, least confident first.</summary>
    public List<Entry> LeastConfidentFirst() =>
        [.. _least.UnorderedItems.Select(x => x.Element).OrderBy(e => e.Confidence).ThenBy(e => e.Order)];
}
