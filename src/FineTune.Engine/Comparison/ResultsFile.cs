using System.Text.Json;
using System.Text.Json.Serialization;
using FineTune.Evaluation;
using FineTune.IO;

namespace FineTune.Comparison;

/// <summary>
/// <c>results.json</c>, the summary a finished experiment folder holds (beside its checkpoints), read by
/// <c>finetune compare</c>. Format (snake_case, accuracies as fractions 0..1):
/// <code>
/// { "format": "finetune-results/1", "experiment": "resnet18_finetune", "backbone": "resnet18",
///   "mode": "finetune" | "scratch", "best_epoch": 23, "train_accuracy": 0.9983, "val_accuracy": 0.9336,
///   "test_accuracy": 0.9401 | null, "wall_seconds": 5400.0,
///   "history": [ { "epoch": 1, "train_loss": 2.1, "train_accuracy": 0.55, "val_loss": 1.2, "val_accuracy": 0.71 }, ... ] }
/// </code>
/// </summary>
public static class ResultsFile
{
    public const string FileName = "results.json";
    public const string FormatTag = "finetune-results/1";

    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a diverged epoch's NaN loss survives the round trip
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true, // a missing key is an error, not a silent 0

        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    sealed record Document(
        string Format, string Experiment, string Backbone, TrainingMode Mode, int BestEpoch,
        double TrainAccuracy, double ValAccuracy,
        [property: JsonPropertyOrder(1)] double WallSeconds,
        [property: JsonPropertyOrder(2)] List<EpochRecord> History,
        double? TestAccuracy = null); // optional: an experiment is written before its test, which adds it

    public static string ToJson(RunResult result) => JsonSerializer.Serialize(
        new Document(FormatTag, result.Experiment, result.Backbone, result.Mode, result.BestEpoch, result.TrainAccuracy,
            result.ValAccuracy, result.WallSeconds, result.History.ToList(), result.TestAccuracy), Options) + "\n";

    /// <summary>Writes <c>&lt;folder&gt;/results.json</c> atomically and returns its path.</summary>
    public static string Write(string folder, RunResult result)
    {
        var path = Path.Combine(folder, FileName);
        AtomicWrite.Text(path, ToJson(result));
        return path;
    }

    /// <summary>Reads a results file; anything malformed ends in an <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    public static RunResult Read(string path)
    {
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid results file: {Describe(e)}; rerun the experiment or delete the file", e);
        }
        if (document is null) throw new InvalidDataException($"{path}: empty results file (null); rerun the experiment or delete the file");
        if (document.Format != FormatTag)
            throw new InvalidDataException($"{path}: format is '{document.Format}', expected '{FormatTag}'; this program reads only that version");
        foreach (var (key, value) in new[] { ("train_accuracy", document.TrainAccuracy), ("val_accuracy", document.ValAccuracy), ("test_accuracy", document.TestAccuracy ?? 0) })
            if (!(value >= 0 && value <= 1))
                throw new InvalidDataException($"{path}: '{key}' is {value}, but accuracies are fractions from 0 to 1; rerun the experiment or fix the file");
        if (document.BestEpoch < 0) throw new InvalidDataException($"{path}: 'best_epoch' is {document.BestEpoch}; it must be 0 or more");
        return new RunResult(document.Experiment, document.Backbone, document.Mode, document.BestEpoch, document.TrainAccuracy,
            document.ValAccuracy, document.TestAccuracy, document.WallSeconds, document.History);
    }

    // System.Text.Json's messages name .NET types; say instead which key is wrong, in the file's own terms.
    static string Describe(JsonException e)
    {
        var message = e.Message;
        var key = e.Path is { Length: > 2 } jsonPath ? jsonPath[2..] : null;
        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            var names = System.Text.RegularExpressions.Regex.Matches(message[message.IndexOf("including", StringComparison.Ordinal)..], "'([^']+)'")
                .Select(m => m.Groups[1].Value);
            return $"missing key(s) {string.Join(", ", names)}";
        }
        if (message.Contains("could not be mapped", StringComparison.Ordinal)) return $"unknown key '{key}'";
        if (message.Contains("doesn't allow null", StringComparison.Ordinal)) return $"'{key}' must not be null";
        if (key is null) return $"not JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})";
        return $"wrong value for '{key}' (line {e.LineNumber + 1}; mode is \"finetune\" or \"scratch\", accuracies are numbers 0..1)";
    }
}
