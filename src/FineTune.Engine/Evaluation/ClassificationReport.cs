using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTune.Evaluation;

/// <summary>
/// scikit-learn's classification_report, as text (its exact layout, so the file reads like the seed's) and
/// as JSON (the shape of <c>output_dict=True</c>).
/// </summary>
public static class ClassificationReport
{
    static readonly string[] Headers = ["precision", "recall", "f1-score", "support"];
    const string LongestAverageHeading = "weighted avg";

    /// <summary>The text report; <paramref name="digits"/> decimals as in scikit-learn (default 2).</summary>
    public static string ToText(ClassificationMetrics metrics, int digits = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digits);
        var nameWidth = metrics.Classes.Max(c => PythonFormat.CodePointLength(c.Name));
        var width = Math.Max(Math.Max(nameWidth, LongestAverageHeading.Length), digits);

        var report = new StringBuilder();
        report.Append(PythonFormat.RightAlign("", width)).Append(' ');
        foreach (var header in Headers) report.Append(' ').Append(PythonFormat.RightAlign(header, 9));
        report.Append("\n\n");
        foreach (var c in metrics.Classes) AppendRow(report, c.Name, c.Precision, c.Recall, c.F1, c.Support, width, digits);
        report.Append('\n');

        if (metrics.MicroIsAccuracy)
        {
            report.Append(PythonFormat.RightAlign("accuracy", width)).Append(' ')
                  .Append(' ').Append(PythonFormat.RightAlign("", 9))
                  .Append(' ').Append(PythonFormat.RightAlign("", 9))
                  .Append(' ').Append(PythonFormat.RightAlign(PythonFormat.Fixed(metrics.Micro.F1, digits), 9))
                  .Append(' ').Append(PythonFormat.RightAlign(metrics.Micro.Support.ToString(), 9)).Append('\n');
        }
        else
        {
            AppendRow(report, "micro avg", metrics.Micro, width, digits);
        }
        AppendRow(report, "macro avg", metrics.Macro, width, digits);
        AppendRow(report, "weighted avg", metrics.Weighted, width, digits);
        return report.ToString();
    }

    /// <summary>
    /// The JSON report: one object per class name with precision, recall, f1-score and support, then
    /// "accuracy" (a number) or "micro avg", then "macro avg" and "weighted avg", as scikit-learn's dict.
    /// </summary>
    public static JsonObject ToJson(ClassificationMetrics metrics)
    {
        var report = new JsonObject();
        foreach (var c in metrics.Classes) report[c.Name] = Row(c.Precision, c.Recall, c.F1, c.Support);
        if (metrics.MicroIsAccuracy) report["accuracy"] = metrics.Micro.Precision;
        else report["micro avg"] = Row(metrics.Micro);
        report["macro avg"] = Row(metrics.Macro);
        report["weighted avg"] = Row(metrics.Weighted);
        return report;
    }

    public static string ToJsonText(ClassificationMetrics metrics) =>
        ToJson(metrics).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    static JsonObject Row(AverageScores a) => Row(a.Precision, a.Recall, a.F1, a.Support);

    static JsonObject Row(double precision, double recall, double f1, int support) => new()
    {
        ["precision"] = precision,
        ["recall"] = recall,
        ["f1-score"] = f1,
        ["support"] = support,
    };

    static void AppendRow(StringBuilder report, string heading, AverageScores a, int width, int digits) =>
        AppendRow(report, heading, a.Precision, a.Recall, a.F1, a.Support, width, digits);

    static void AppendRow(StringBuilder report, string heading, double precision, double recall, double f1, int support, int width, int digits)
    {
        report.Append(PythonFormat.RightAlign(heading, width)).Append(' ');
        foreach (var value in new[] { precision, recall, f1 })
            report.Append(' ').Append(PythonFormat.RightAlign(PythonFormat.Fixed(value, digits), 9));
        report.Append(' ').Append(PythonFormat.RightAlign(support.ToString(System.Globalization.CultureInfo.InvariantCulture), 9)).Append('\n');
    }
}
