using System.Text.Json.Serialization;

namespace FineTune.Evaluation;

/// <summary>The headline numbers of a test run, written as <c>summary.json</c>.</summary>
public sealed record TestSummary(
    [property: JsonPropertyName("experiment")] string? Experiment,
    [property: JsonPropertyName("model_path")] string? ModelPath,
    [property: JsonPropertyName("sample_count")] int SampleCount,
    [property: JsonPropertyName("class_count")] int ClassCount,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("top5_accuracy")] double Top5Accuracy,
    [property: JsonPropertyName("misclassified_count")] int MisclassifiedCount,
    [property: JsonPropertyName("test_seconds")] double TestSeconds,
    [property: JsonPropertyName("images_per_second")] double ImagesPerSecond);

/// <summary>
/// Everything <c>finetune test</c> reports about one model on one split: metrics, confusion matrix and
/// the wrongly classified files, built from the per-image predictions (written by <c>Reports.TestReportFiles</c>).
/// </summary>
public sealed class TestReport
{
    public const string ReportTextFile = "classification_report.txt";
    public const string ReportJsonFile = "classification_report.json";
    public const string ConfusionCsvFile = "confusion_matrix.csv";
    public const string ConfusionPngFile = "confusion_matrix.png";
    public const string MisclassifiedCsvFile = "misclassified.csv";
    public const string SummaryJsonFile = "summary.json";

    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<SamplePrediction> Samples { get; }
    public ClassificationMetrics Metrics { get; }
    public ConfusionMatrix Confusion { get; }
    public TestSummary Summary { get; }

    public TestReport(IReadOnlyList<string> classNames, IReadOnlyList<SamplePrediction> samples, TimeSpan testTime,
        string? experiment = null, string? modelPath = null)
    {
        foreach (var s in samples)
            if (s.Probabilities.Length != classNames.Count)
                throw new ArgumentException($"{s.Path}: {s.Probabilities.Length} probabilities but {classNames.Count} classes; the model and the class list do not match", nameof(samples));
        ClassNames = classNames;
        Samples = samples;
        var trueLabels = samples.Select(s => s.TrueLabel).ToList();
        var predicted = samples.Select(s => s.PredictedLabel).ToList();
        Metrics = ClassificationMetrics.Compute(trueLabels, predicted, classNames);
        Confusion = new ConfusionMatrix(classNames, trueLabels, predicted);
        var seconds = testTime.TotalSeconds;
        Summary = new TestSummary(experiment, modelPath, samples.Count, classNames.Count, Metrics.Accuracy,
            TopKAccuracy.Compute(samples, 5), samples.Count(s => !s.IsCorrect), seconds, seconds > 0 ? samples.Count / seconds : 0);
    }

    /// <summary>The lines <c>finetune test</c> prints: accuracy, top-5, images and time, then any ill-defined-metric warnings.</summary>
    public string SummaryText()
    {
        var s = Summary;
        var lines = new List<string>
        {
            string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Test accuracy: {100 * s.Accuracy:F2}%  top-5: {100 * s.Top5Accuracy:F2}%  ({s.SampleCount - s.MisclassifiedCount}/{s.SampleCount} right)"),
            string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Test time: {s.TestSeconds:F1} s ({s.ImagesPerSecond:F1} images/s)"),
        };
        lines.AddRange(Metrics.Warnings.Select(w => "warning: " + w));
        return string.Join("\n", lines) + "\n";
    }
}
