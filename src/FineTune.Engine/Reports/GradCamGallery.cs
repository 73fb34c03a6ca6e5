using FineTune.Data;
using FineTune.Evaluation;

namespace FineTune.Reports;

/// <summary>One image of the Grad-CAM section: its prediction and its heatmap overlay (null: the file could not be read again).</summary>
public sealed record GradCamImage(SamplePrediction Sample, string? Overlay);

/// <summary>
/// What report.html's "What the network looked at" section shows: Grad-CAM overlays (<see cref="GradCam"/>) for the
/// misclassified test images, most confident mistakes first, up to a cap, and for a seeded sample of correct ones, for
/// contrast. <see cref="Unavailable"/> says why there are none (e.g. synthetic data has no image files).
/// </summary>
public sealed record GradCamGallery(IReadOnlyList<GradCamImage> Misclassified, int MisclassifiedTotal,
    IReadOnlyList<GradCamImage> Correct, int CorrectTotal, string? Unavailable = null)
{
    /// <summary>
    /// At most this many misclassified images get a heatmap: about 8 KB each, and one forward per image, so a test with
    /// thousands of mistakes still writes its report in seconds. The first ones are the most confident mistakes.
    /// </summary>
    public const int DefaultMisclassifiedCap = 200;

    /// <summary>How many correctly classified images are drawn for contrast: two rows of the gallery.</summary>
    public const int DefaultCorrectSample = 24;

    public static GradCamGallery NotComputed(string reason) => new([], 0, [], 0, reason);

    /// <summary>
    /// The samples to explain: the first <paramref name="cap"/> misclassified ones in misclassified.csv's order, and
    /// <paramref name="correct"/> correctly classified ones drawn with <paramref name="seed"/> (SplitMix64 over the
    /// samples in path order, so the same test set and seed show the same images), shown by class and path.
    /// </summary>
    public static (IReadOnlyList<SamplePrediction> Misclassified, IReadOnlyList<SamplePrediction> Correct) Choose(
        IReadOnlyList<SamplePrediction> samples, ulong seed, int cap = DefaultMisclassifiedCap, int correct = DefaultCorrectSample)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cap);
        ArgumentOutOfRangeException.ThrowIfNegative(correct);
        var wrong = MisclassifiedFiles.Ordered(samples).Take(cap).ToList();
        var right = samples.Where(s => s.IsCorrect).OrderBy(s => s.Path, StringComparer.Ordinal).ToList();
        new SplitMix64(seed).Shuffle(right);
        var drawn = right.Take(correct).OrderBy(s => s.TrueLabel).ThenBy(s => s.Path, StringComparer.Ordinal).ToList();
        return (wrong, drawn);
    }
}
