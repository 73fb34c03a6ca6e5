using System.Text.Json.Nodes;
using FineTune.Prediction;
using Xunit;

namespace FineTune.Tests.Evaluation;

public class PredictionFormatTests
{
    static readonly string[] Names = ["accordion", "airplanes", "anchor", "ant"];

    static IReadOnlyList<ImagePrediction> Predictions() =>
    [
        new("photos/a.jpg", PredictionFormat.TopK([0.1f, 0.7f, 0.15f, 0.05f], Names, 2)),
        new("photos/second.jpg", PredictionFormat.TopK([0.25f, 0.25f, 0.4f, 0.1f], Names, 3)),
        ImagePrediction.Failed("photos/broken.jpg", "not an image (unknown format)"),
    ];

    [Fact]
    public void Top_k_is_most_probable_first_with_ties_to_the_lower_index()
    {
        var top = PredictionFormat.TopK([0.25f, 0.25f, 0.4f, 0.1f], Names, 3);
        Assert.Equal(["anchor", "accordion", "airplanes"], top.Select(c => c.ClassName));
        Assert.Equal(4, PredictionFormat.TopK([0.25f, 0.25f, 0.4f, 0.1f], Names, 10).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => PredictionFormat.TopK([1f, 0, 0, 0], Names, 0));
        Assert.Contains("class names", Assert.Throws<ArgumentException>(() => PredictionFormat.TopK([1f], Names, 1)).Message);
    }

    [Fact]
    public void The_table_aligns_columns_and_names_each_image_once()
    {
        var lines = PredictionFormat.ToTable(Predictions()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([
            "image              rank  class      probability",
            "-----------------  ----  ---------  -----------",
            "photos/a.jpg          1  airplanes       70.00%",
            "                      2  anchor          15.00%",
            "photos/second.jpg     1  anchor          40.00%",
            "                      2  accordion       25.00%",
            "                      3  airplanes       25.00%",
            "photos/broken.jpg  error: not an image (unknown format)",
        ], lines);
    }

    [Fact]
    public void The_json_lists_each_image_with_its_classes_and_probabilities()
    {
        var json = JsonNode.Parse(PredictionFormat.ToJson(Predictions()))!.AsArray();
        Assert.Equal(3, json.Count);
        Assert.Equal("photos/a.jpg", json[0]!["path"]!.GetValue<string>());
        Assert.Equal("airplanes", json[0]!["predictions"]![0]!["class"]!.GetValue<string>());
        Assert.Equal(0.7f, (float)json[0]!["predictions"]![0]!["probability"]!.GetValue<double>());
        Assert.Null(json[0]!["error"]);
        Assert.Equal("not an image (unknown format)", json[2]!["error"]!.GetValue<string>());
        Assert.Empty(json[2]!["predictions"]!.AsArray());
    }
}
