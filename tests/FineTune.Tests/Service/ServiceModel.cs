using System.Text.Json;
using FineTune.Tests.Export;

namespace FineTune.Tests.Service;

/// <summary>
/// The model every service test serves: the bundled ImageNet ResNet-18 with a seeded 7-class head (ExportFixtures),
/// evaluated at 224 px, exported once per test run with `finetune export --format onnx` as a user would.
/// </summary>
static class ServiceModel
{
    static readonly Lazy<(string Folder, string Onnx)> Exported = new(() =>
    {
        var folder = TestRunFolder.New("service");
        var checkpoint = ExportFixtures.BundledCheckpoint(folder, evalSize: 224);
        var onnx = Path.Combine(folder, "model.onnx");
        FinetuneProgram.Run(folder, "export", "--format", "onnx", "--model_path", checkpoint, "--output", onnx).Succeeded();
        return (folder, onnx);
    });

    public static string Onnx => Exported.Value.Onnx;

    /// <summary>`finetune predict --json` on the same file: each image's classes and probabilities, most probable first.</summary>
    public static Dictionary<string, List<(string Class, double Probability)>> FinetunePredict(IReadOnlyList<string> images, int topK = 5)
    {
        var run = FinetuneProgram.Run(Exported.Value.Folder, ["predict", "--model_path", Onnx, "--json", "--topk", topK.ToString(System.Globalization.CultureInfo.InvariantCulture), .. images]).Succeeded();
        using var json = JsonDocument.Parse(run.Out);
        return json.RootElement.EnumerateArray().ToDictionary(image => image.GetProperty("path").GetString()!,
            image => image.GetProperty("predictions").EnumerateArray().Select(p => (p.GetProperty("class").GetString()!, p.GetProperty("probability").GetDouble())).ToList());
    }
}

/// <summary>The service tests run one at a time: each starts its own service, and the load test's figures should be its own.</summary>
[Xunit.CollectionDefinition(Name)]
public sealed class ServiceCollection
{
    public const string Name = "classify service";
}
