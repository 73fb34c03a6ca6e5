using System.Globalization;
using System.Text;

namespace FineTune.Evaluation;

public static class MisclassifiedFiles
{
    /// <summary>
    /// CSV of the wrongly classified images, most confident mistakes first (those are the ones worth a look:
    /// a mislabelled image or a truly confusable pair): path, true, predicted, confidence.
    /// </summary>
    public static string ToCsv(IReadOnlyList<SamplePrediction> samples, IReadOnlyList<string> classNames)
    {
        var csv = new StringBuilder();
        csv.Append(Csv.Line(["path", "true", "predicted", "confidence"]));
        foreach (var s in Ordered(samples))
            csv.Append(Csv.Line([s.Path, classNames[s.TrueLabel], classNames[s.PredictedLabel], s.Confidence.ToString("0.0000", CultureInfo.InvariantCulture)]));
        return csv.ToString();
    }

    /// <summary>The wrongly classified samples in the CSV's order, which the HTML report's gallery follows too.</summary>
    public static IEnumerable<SamplePrediction> Ordered(IEnumerable<SamplePrediction> samples) =>
        samples.Where(s => !s.IsCorrect).OrderByDescending(s => s.Confidence).ThenBy(s => s.Path, StringComparer.Ordinal);
}
