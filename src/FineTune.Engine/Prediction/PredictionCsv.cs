using System.Globalization;
using FineTune.Evaluation;

namespace FineTune.Prediction;

/// <summary>
/// predictions.csv, one row per image: <c>path,top1,p1,...,topK,pK,error</c>. Every row has every column, so any CSV
/// reader loads it as a table: an image that was classified has an empty error; one that was not has empty class and
/// probability columns and says why in error. Probabilities are 0..1 with six decimals, in the invariant culture.
/// </summary>
public static class PredictionCsv
{
    public static string Header(int k) =>
        Csv.Line(Enumerable.Range(1, k).SelectMany(i => new[] { $"top{i}", $"p{i}" }).Prepend("path").Append("error"));

    public static string Row(string name, ImagePrediction prediction, int k)
    {
        var fields = new List<string>(2 * k + 2) { name };
        for (int i = 0; i < k; i++)
        {
            var c = i < prediction.TopK.Count ? prediction.TopK[i] : null;
            fields.Add(c?.ClassName ?? "");
            fields.Add(c?.Probability.ToString("F6", CultureInfo.InvariantCulture) ?? "");
        }
        fields.Add(prediction.Error ?? "");
        return Csv.Line(fields);
    }
}
