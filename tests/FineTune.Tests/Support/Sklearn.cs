using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>Runs scikit-learn's classification_report on the same labels, for byte-for-byte comparison.</summary>
static class Sklearn
{
    /// <summary>Debian's python3 (where apt's python3-sklearn lives); FINETUNE_PYTHON points elsewhere, e.g. at a venv.</summary>
    public static readonly string Python = Environment.GetEnvironmentVariable("FINETUNE_PYTHON") is { Length: > 0 } custom ? custom : "/usr/bin/python3";

    static readonly Lazy<string?> Probe = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} not found (install python3 and python3-sklearn to run this comparison)";
        var (code, _, error) = Run("import sklearn; print(sklearn.__version__)", "");
        return code == 0 ? null : $"scikit-learn is not importable by {Python} (apt-get install python3-sklearn): {error.Trim()}";
    });

    public static string? Unavailable => Probe.Value;

    const string ReportScript = """
        import json, sys, warnings
        from sklearn.metrics import classification_report
        warnings.simplefilter("ignore")
        job = json.load(sys.stdin)
        labels = list(range(len(job["names"])))
        text = classification_report(job["y_true"], job["y_pred"], labels=labels, target_names=job["names"], digits=job["digits"])
        report = classification_report(job["y_true"], job["y_pred"], labels=labels, target_names=job["names"], output_dict=True)
        sys.stdout.write(json.dumps({"text": text, "dict": report}))
        """;

    /// <summary>scikit-learn's text report and its output_dict, for labels 0..names-1.</summary>
    public static (string Text, JsonObject Dict) ClassificationReport(IReadOnlyList<int> yTrue, IReadOnlyList<int> yPred, IReadOnlyList<string> names, int digits)
    {
        var job = JsonSerializer.Serialize(new { y_true = yTrue, y_pred = yPred, names, digits });
        var (code, output, error) = Run(ReportScript, job);
        if (code != 0) throw new InvalidOperationException($"scikit-learn failed: {error}");
        var result = JsonNode.Parse(output)!.AsObject();
        return (result["text"]!.GetValue<string>(), result["dict"]!.AsObject());
    }

    static (int Code, string Output, string Error) Run(string script, string input)
    {
        var start = new ProcessStartInfo(Python, ["-c", script]) { StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8 };
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        start.Environment["OMP_NUM_THREADS"] = "1";
        var r = Processes.Run(start, stdin: input);
        return (r.Code, r.Out, r.Err);
    }
}
