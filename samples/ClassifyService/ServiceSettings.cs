using System.Globalization;

namespace ClassifyService;

/// <summary>
/// What the service is started with: <c>--model</c> (or CLASSIFY_MODEL) and <c>--max_upload_mb</c> (or CLASSIFY_MAX_UPLOAD_MB).
/// Names as `finetune` spells its options; the command line wins over the environment.
/// </summary>
public sealed record ServiceSettings(string ModelPath, long MaxUploadBytes)
{
    /// <summary>Photos from phones are 2-8 MB; 16 MB leaves room without letting one request hold much memory.</summary>
    public const int DefaultMaxUploadMegabytes = 16;

    /// <summary>The settings, or a message naming what is missing or wrong and how to give it.</summary>
    public static (ServiceSettings? Settings, string? Error) From(IConfiguration configuration)
    {
        var model = Value(configuration, "model", "CLASSIFY_MODEL");
        if (string.IsNullOrWhiteSpace(model))
            return (null, "no model given: start the service with --model model.onnx (or set CLASSIFY_MODEL); write one with `finetune export --format onnx`.");
        var megabytes = Value(configuration, "max_upload_mb", "CLASSIFY_MAX_UPLOAD_MB");
        double limit = DefaultMaxUploadMegabytes;
        if (megabytes is not null && (!double.TryParse(megabytes, NumberStyles.Float, CultureInfo.InvariantCulture, out limit) || limit <= 0 || limit > 1024))
            return (null, $"--max_upload_mb '{megabytes}' is not a size in megabytes between 0 and 1024: give for example --max_upload_mb 16.");
        return (new ServiceSettings(Path.GetFullPath(model), (long)(limit * 1024 * 1024)), null);
    }

    static string? Value(IConfiguration configuration, string key, string variable) =>
        configuration[key] ?? Environment.GetEnvironmentVariable(variable);
}
