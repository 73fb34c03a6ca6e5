using FineTune.Evaluation;

namespace FineTune.Reports;

/// <summary>
/// A (true, predicted) pair of different classes and how often it happened, with its most confident mistake as the
/// example to show: fastai's most_confused, with a picture.
/// </summary>
sealed record ConfusedPair(int True, int Predicted, int Count, SamplePrediction Example, string? Thumbnail)
{
    public const int Shown = 10;

    /// <summary>
    /// The <see cref="Shown"/> most frequent pairs, most frequent first (ties: by true, then predicted class index).
    /// <paramref name="misclassified"/> is in the gallery's order, so each pair's example is its first there.
    /// </summary>
    public static IReadOnlyList<ConfusedPair> Top(TestReport report, IReadOnlyList<SamplePrediction> misclassified, Func<string, string?> imageFile)
    {
        var counts = report.Confusion.Counts;
        var n = report.Confusion.ClassCount;
        var cells = new List<(int True, int Predicted, int Count)>();
        for (var t = 0; t < n; t++)
            for (var p = 0; p < n; p++)
                if (t != p && counts[t, p] > 0) cells.Add((t, p, counts[t, p]));
        var top = cells.OrderByDescending(c => c.Count).ThenBy(c => c.True).ThenBy(c => c.Predicted).Take(Shown).ToList();
        return top.Select(c =>
        {
            var example = misclassified.First(s => s.TrueLabel == c.True && s.PredictedLabel == c.Predicted);
            return new ConfusedPair(c.True, c.Predicted, c.Count, example, Thumbnails.DataUri(imageFile(example.Path)));
        }).ToList();
    }
}
