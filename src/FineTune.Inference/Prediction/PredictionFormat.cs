using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTune.Prediction;

/// <summary>How <c>finetune predict</c> shows its answers: an aligned plain-text table or JSON.</summary>
public static class PredictionFormat
{
    /// <summary>
    /// One line per (image, rank); the image path is written on its first line only, so each image reads as
    /// a block. Probabilities in percent with two decimals. An image that failed shows its error.
    /// </summary>
    public static string ToTable(IReadOnlyList<ImagePrediction> predictions)
    {
        const string imageHeader = "image", rankHeader = "rank", classHeader = "class", probabilityHeader = "probability";
        var pathWidth = predictions.Select(p => p.Path.Length).Append(imageHeader.Length).Max();
        var classWidth = predictions.SelectMany(p => p.TopK).Select(c => c.ClassName.Length).Append(classHeader.Length).Max();

        var table = new StringBuilder();
        table.Append($"{imageHeader.PadRight(pathWidth)}  {rankHeader}  {classHeader.PadRight(classWidth)}  {probabilityHeader}".TrimEnd()).Append('\n');
        table.Append($"{new string('-', pathWidth)}  {new string('-', rankHeader.Length)}  {new string('-', classWidth)}  {new string('-', probabilityHeader.Length)}\n");
        foreach (var prediction in predictions)
        {
            if (prediction.Error is { } error)
            {
                table.Append($"{prediction.Path.PadRight(pathWidth)}  error: {error}\n");
                continue;
            }
            for (var rank = 0; rank < prediction.TopK.Count; rank++)
            {
                var (name, probability) = (prediction.TopK[rank].ClassName, prediction.TopK[rank].Probability);
                var path = rank == 0 ? prediction.Path : "";
                var percent = (100 * probability).ToString("F2", CultureInfo.InvariantCulture) + "%";
                table.Append($"{path.PadRight(pathWidth)}  {(rank + 1).ToString(CultureInfo.InvariantCulture).PadLeft(rankHeader.Length)}  {name.PadRight(classWidth)}  {percent.PadLeft(probabilityHeader.Length)}\n");
            }
        }
        return table.ToString();
    }

    /// <summary>
    /// JSON: <c>[{"path": ..., "predictions": [{"class": ..., "probability": 0.97}, ...]}, ...]</c>;
    /// a failed image has <c>"error"</c> and no predictions.
    /// </summary>
    public static string ToJson(IReadOnlyList<ImagePrediction> predictions)
    {
        var document = predictions.Select(p => new JsonImage(
            p.Path,
            p.TopK.Select(c => new JsonClass(c.ClassName, c.Probability)).ToList(),
            p.Error)).ToList();
        return JsonSerializer.Serialize(document, new JsonSerializerOptions
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        }) + "\n";
    }

    sealed record JsonImage(
        [property: JsonPropertyName("path")] string Path,
        [property: JsonPropertyName("predictions")] List<JsonClass> Predictions,
        [property: JsonPropertyName("error")] string? Error);

    sealed record JsonClass(
        [property: JsonPropertyName("class")] string ClassName,
        [property: JsonPropertyName("probability")] double Probability);

    /// <summary>The <paramref name="k"/> most probable classes of a probability vector, most probable first (ties: lower index first).</summary>
    public static IReadOnlyList<ClassProbability> TopK(IReadOnlyList<float> probabilities, IReadOnlyList<string> classNames, int k)
    {
        if (probabilities.Count != classNames.Count)
            throw new ArgumentException($"{probabilities.Count} probabilities but {classNames.Count} class names; the model and its class list do not match", nameof(probabilities));
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"--topk must be at least 1 (got {k})");
        return Enumerable.Range(0, probabilities.Count)
            .OrderByDescending(i => probabilities[i]).ThenBy(i => i)
            .Take(k)
            .Select(i => new ClassProbability(classNames[i], probabilities[i]))
            .ToList();
    }
}
