using FineTune.Evaluation;

namespace FineTune.Reports;

public static partial class HtmlReport
{
    const int TopShown = 3;

    /// <summary>
    /// Every misclassified image up to <paramref name="cap"/>, in misclassified.csv's order (most confident mistakes
    /// first: mislabelled images and truly confusable pairs), each with its true class, the prediction and the top 3.
    /// Thumbnails are made here, one at a time, and written out at once.
    /// </summary>
    static void WriteGallery(TextWriter w, IReadOnlyList<string> names, IReadOnlyList<SamplePrediction> misclassified,
        Func<string, string?> imageFile, int cap, IReadOnlyList<ConfusedPair> pairs)
    {
        var made = pairs.ToDictionary(p => p.Example, p => p.Thumbnail);
        var shown = Math.Min(cap, misclassified.Count);
        w.WriteLine("<section id=\"misclassified\"><h2>Misclassified images</h2>");
        w.WriteLine(shown < misclassified.Count
            ? $"<p class=\"hint\">The first {Html.Count(shown)} of {Html.Count(misclassified.Count)} misclassified images, most confident mistakes first; all of them are in misclassified.csv.</p>"
            : $"<p class=\"hint\">All {Html.Count(misclassified.Count)} misclassified images, most confident mistakes first (as in misclassified.csv).</p>");
        w.WriteLine("<div class=\"gallery\">");
        foreach (var s in misclassified.Take(shown))
        {
            var thumbnail = made.TryGetValue(s, out var known) ? known : Thumbnails.DataUri(imageFile(s.Path));
            w.Write($"<figure class=\"miss\">{Thumbnail(thumbnail, s.Path)}<figcaption>");
            w.Write($"<div class=\"truth\">true <b>{Html.Escape(names[s.TrueLabel])}</b></div>");
            w.Write($"<div class=\"guess\">predicted <b>{Html.Escape(names[s.PredictedLabel])}</b> {Html.Percent(s.Confidence)}</div>");
            w.Write("<ol class=\"top\">");
            foreach (var c in TopClasses(s.Probabilities, TopShown))
                w.Write($"<li{(c == s.TrueLabel ? " class=\"is-true\"" : "")}>{Html.Escape(names[c])} {Html.Percent(s.Probabilities[c])}</li>");
            w.WriteLine($"</ol><div class=\"path\" title=\"{Html.Escape(s.Path)}\">{Html.Escape(Path.GetFileName(s.Path))}</div></figcaption></figure>");
        }
        w.WriteLine("</div></section>");
    }

    /// <summary>The <paramref name="k"/> most probable classes, most probable first (ties to the lower index, as argmax).</summary>
    static IEnumerable<int> TopClasses(float[] probabilities, int k) =>
        Enumerable.Range(0, probabilities.Length).OrderByDescending(c => probabilities[c]).ThenBy(c => c).Take(k);
}
