using Microsoft.AspNetCore.Http.Features;

namespace ClassifyService;

/// <summary>A refused request: its status code and one sentence naming the problem and the fix, sent as <c>{"error": ...}</c>.</summary>
public sealed record Refusal(int Status, string Error)
{
    public IResult ToResult() => Results.Json(new { error = Error }, statusCode: Status);
}

/// <summary>
/// Reads the image out of a request: a multipart form with the file in field <c>image</c> (what a browser's form
/// sends, and <c>curl -F image=@photo.jpg</c>), or the raw bytes with an <c>image/*</c> or
/// <c>application/octet-stream</c> Content-Type (<c>curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg'</c>).
/// Every way an upload can be wrong before decoding ends in a <see cref="Refusal"/>, never an exception.
/// </summary>
public static class Upload
{
    public const string Field = "image";

    const string HowToSend = $"send the photo as multipart/form-data in field '{Field}' (curl -F {Field}=@photo.jpg) or as the raw body with Content-Type image/jpeg";

    /// <summary>The uploaded bytes, or why there are none.</summary>
    public static async Task<(byte[]? Image, Refusal? Refusal)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken token)
    {
        // Refused before a byte is read when the client announces the size (Kestrel's own limit stops a lying client).
        if (request.ContentLength > maxBytes + FormOverhead) return (null, TooLarge(request.ContentLength.Value, maxBytes));
        try
        {
            if (request.HasFormContentType) return await ReadFormAsync(request, maxBytes, token);
            if (IsRawImageType(request.ContentType)) return Checked(await ReadBodyAsync(request.Body, maxBytes, token), maxBytes);
            if (request.ContentLength is 0 or null && request.ContentType is null) return (null, Empty());
            return (null, new Refusal(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type '{request.ContentType ?? "(none)"}' is not an image upload: {HowToSend}."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(null, maxBytes));
        }
        catch (InvalidDataException e) // the multipart reader: a malformed body, or a part over FormOptions' limits
        {
            return (null, new Refusal(StatusCodes.Status400BadRequest, $"the multipart form could not be read ({e.Message}): {HowToSend}."));
        }
    }

    /// <summary>Room for the multipart boundaries and part headers around a file of the largest allowed size.</summary>
    public const long FormOverhead = 64 * 1024;

    /// <summary>Kestrel's and the form reader's limits for <paramref name="maxBytes"/>: a little above it, so the precise check here speaks first.</summary>
    public static void ConfigureLimits(WebApplicationBuilder builder, long maxBytes)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBytes + FormOverhead);
        builder.Services.Configure<FormOptions>(form =>
        {
            form.MultipartBodyLengthLimit = maxBytes + FormOverhead;
            form.ValueCountLimit = 16; // the form holds one file; many fields are not a photo upload
        });
    }

    static async Task<(byte[]?, Refusal?)> ReadFormAsync(HttpRequest request, long maxBytes, CancellationToken token)
    {
        var form = await request.ReadFormAsync(token);
        var file = form.Files.GetFile(Field);
        if (file is null)
            return (null, new Refusal(StatusCodes.Status400BadRequest, form.Files.Count == 0
                ? $"the form holds no file: {HowToSend}."
                : $"the form has no field '{Field}' (it has {string.Join(", ", form.Files.Select(f => $"'{f.Name}'"))}): name the file's field '{Field}'."));
        if (file.Length > maxBytes) return (null, TooLarge(file.Length, maxBytes));
        await using var stream = file.OpenReadStream();
        return Checked(await ReadBodyAsync(stream, maxBytes, token), maxBytes);
    }

    static bool IsRawImageType(string? contentType) =>
        contentType is not null && (contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
                                    || contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads at most <paramref name="maxBytes"/> + 1 bytes: one more than allowed is enough to know it is too many.</summary>
    static async Task<byte[]> ReadBodyAsync(Stream body, long maxBytes, CancellationToken token)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while (buffer.Length <= maxBytes && (read = await body.ReadAsync(chunk, token)) > 0)
            buffer.Write(chunk, 0, read);
        return buffer.ToArray();
    }

    static (byte[]?, Refusal?) Checked(byte[] bytes, long maxBytes)
    {
        if (bytes.Length == 0) return (null, Empty());
        if (bytes.Length > maxBytes) return (null, TooLarge(null, maxBytes));
        if (!ImageModel.LooksLikeImage(bytes))
            return (null, new Refusal(StatusCodes.Status415UnsupportedMediaType,
                $"the upload is not an image: its {bytes.Length:N0} bytes are not JPEG, PNG, GIF, BMP or WebP; send a photo in one of those formats."));
        return (bytes, null);
    }

    static Refusal Empty() => new(StatusCodes.Status400BadRequest, $"the upload is empty (0 bytes): {HowToSend}.");

    static Refusal TooLarge(long? size, long maxBytes) => new(StatusCodes.Status413PayloadTooLarge,
        $"the upload{(size is { } s ? $" ({s:N0} bytes)" : "")} is over this service's limit of {maxBytes:N0} bytes: send a smaller image (the model sees it at a few hundred pixels), or start the service with a larger --max_upload_mb.");
}
