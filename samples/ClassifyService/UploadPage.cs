namespace ClassifyService;

/// <summary><c>GET /</c>: the upload form, one self-contained page (inline style and script, nothing fetched but /classify).</summary>
public static class UploadPage
{
    static readonly string Html = Read();

    /// <summary>
    /// The policy forbids every other source, so the page works offline and a mistake that pulled in a script or a font
    /// from the network shows as a console error in the test that opens it.
    /// </summary>
    const string Policy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src blob:; form-action 'none'; base-uri 'none'";

    public static IResult Serve(HttpContext context)
    {
        context.Response.Headers.ContentSecurityPolicy = Policy;
        return Results.Content(Html, "text/html; charset=utf-8");
    }

    static string Read()
    {
        using var stream = typeof(UploadPage).Assembly.GetManifestResourceStream("UploadPage.html")
            ?? throw new InvalidOperationException("UploadPage.html is not embedded in the assembly: see ClassifyService.csproj.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
