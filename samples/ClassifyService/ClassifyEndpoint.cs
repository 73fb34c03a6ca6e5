using System.Diagnostics;
using System.Globalization;

namespace ClassifyService;

/// <summary><c>POST /classify[?top=k]</c>: the image's top k classes as JSON, or a 4xx that says what to change.</summary>
public static class ClassifyEndpoint
{
    public const int DefaultTop = 5;

    /// <summary>The answer: <c>{"model": ..., "top": [{"class": ..., "probability": ...}], "milliseconds": ...}</c>.</summary>
    public sealed record Answer(string Model, IReadOnlyList<ClassScore> Top, double Milliseconds);

    public sealed record ClassScore([property: System.Text.Json.Serialization.JsonPropertyName("class")] string Class, double Probability);

    public static async Task<IResult> HandleAsync(HttpContext context, ImageModel model, ServiceSettings settings)
    {
        var request = context.Request;
        var (top, badTop) = ParseTop(request.Query["top"], model.ClassNames.Count);
        if (badTop is not null) return badTop.ToResult();
        var (image, refusal) = await Upload.ReadAsync(request, settings.MaxUploadBytes, context.RequestAborted);
        if (refusal is not null) return refusal.ToResult();

        // Timed: decoding, resizing and the model, i.e. what the service adds beyond receiving the upload.
        var watch = Stopwatch.StartNew();
        try
        {
            var classes = model.Predict(image!, top);
            return Results.Json(new Answer(model.Name, [.. classes.Select(c => new ClassScore(c.ClassName, c.Probability))], Math.Round(watch.Elapsed.TotalMilliseconds, 1)));
        }
        catch (UnreadableImageException e)
        {
            // 422: the request was well formed and is an image by its first bytes, but its content cannot be used.
            return new Refusal(StatusCodes.Status422UnprocessableEntity,
                $"the image could not be decoded: {e.Message}; send an ordinary, complete photo.").ToResult();
        }
    }

    static (int Top, Refusal? Refusal) ParseTop(string? text, int classes)
    {
        if (string.IsNullOrEmpty(text)) return (Math.Min(DefaultTop, classes), null);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int top) || top < 1)
            return (0, new Refusal(StatusCodes.Status400BadRequest, $"?top={text} is not a whole number of 1 or more: ask for example ?top=3."));
        return (Math.Min(top, classes), null); // more than the model has: all of them, as `finetune predict --topk` does
    }
}
