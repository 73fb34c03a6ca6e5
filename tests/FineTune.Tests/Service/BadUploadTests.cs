using System.Text.Json;
using FineTune.Tests.Data;
using Xunit;

namespace FineTune.Tests.Service;

/// <summary>Every way an upload can be wrong gets its 4xx and a JSON message that names the problem and the fix; never a 500, and the service carries on.</summary>
[Collection(ServiceCollection.Name)]
public sealed class BadUploadTests(BadUploadTests.LimitedService running) : IClassFixture<BadUploadTests.LimitedService>
{
    /// <summary>The limit the service is started with here, so that "too large" needs only a 1.5 MB upload.</summary>
    const int LimitMegabytes = 1;

    sealed record Case(Func<HttpContent> Content, int Status, string Says, string Query = "");

    static readonly byte[] Photo = File.ReadAllBytes(ExportImages.Write(TestRunFolder.New("service-bad"), 2)[1]); // a JPEG
    static readonly byte[] Text = "name,class\nphoto.jpg,cat\n"u8.ToArray();
    // Starts as a JPEG does, so only the size can refuse it.
    static readonly byte[] OverLimit = [0xFF, 0xD8, 0xFF, .. new byte[LimitMegabytes * 1024 * 1024 + 512 * 1024]];

    static readonly Dictionary<string, Case> Cases = new()
    {
        ["a text file in the form"] = new(() => ServiceProcess.Form(Text, "labels.csv", "text/csv"), 415, "not an image"),
        ["a text file named .jpg"] = new(() => ServiceProcess.Form(Text, "photo.jpg"), 415, "not JPEG, PNG, GIF, BMP or WebP"),
        ["a JSON body"] = new(() => new StringContent("""{"image": "photo.jpg"}""", System.Text.Encoding.UTF8, "application/json"), 415, "Content-Type 'application/json"),
        ["an empty file in the form"] = new(() => ServiceProcess.Form([]), 400, "empty (0 bytes)"),
        ["an empty raw body"] = new(() => ServiceProcess.Raw([]), 400, "empty (0 bytes)"),
        ["no body at all"] = new(() => new ByteArrayContent([]), 400, "empty"),
        ["the file under another field name"] = new(() => ServiceProcess.Form(Photo, field: "file"), 400, "no field 'image' (it has 'file')"),
        ["over the size limit, in the form"] = new(() => ServiceProcess.Form(OverLimit), 413, "over this service's limit of 1,048,576 bytes"),
        ["over the size limit, raw"] = new(() => ServiceProcess.Raw(OverLimit), 413, "over this service's limit of 1,048,576 bytes"),
        // No Content-Length: only counting the bytes as they arrive can stop it.
        ["over the size limit, chunked"] = new(() => Chunked(OverLimit), 413, "over this service's limit"),
        ["a decompression bomb"] = new(() => ServiceProcess.Form(ImageDecoderTests.PngBomb(30000, 30000), "bomb.png", "image/png"), 422, "30000x30000 pixels is above the limit"),
        ["a truncated JPEG"] = new(() => ServiceProcess.Raw(Photo[..(Photo.Length / 2)]), 422, "truncated"),
        ["top that is not a number"] = new(() => ServiceProcess.Form(Photo), 400, "?top=three is not a whole number", "?top=three"),
        ["top of zero"] = new(() => ServiceProcess.Form(Photo), 400, "?top=0 is not a whole number of 1 or more", "?top=0"),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task A_bad_upload_gets_its_4xx_and_a_message(string name)
    {
        var bad = Cases[name];
        var service = running.Service;
        using var client = service.Client();
        using var response = await client.PostAsync("classify" + bad.Query, bad.Content());
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == bad.Status, $"{name}: expected {bad.Status}, got {(int)response.StatusCode}: {body}\n{service.Log}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        using var json = JsonDocument.Parse(body);
        var message = json.RootElement.GetProperty("error").GetString()!;
        Assert.Contains(bad.Says, message);
        Assert.Matches("[:;] (send|name|ask) ", message); // and the fix

        // The service carries on: the next good upload is answered.
        await ServiceProcess.TopClassesAsync(await client.PostAsync("classify", ServiceProcess.Form(Photo)));
    }

    /// <summary>One service for all the cases (each case also checks that it still answers afterwards).</summary>
    public sealed class LimitedService : IDisposable
    {
        internal ServiceProcess Service { get; } = ServiceProcess.Start("--model", ServiceModel.Onnx, "--max_upload_mb", LimitMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public void Dispose() => Service.Dispose();
    }

    static StreamContent Chunked(byte[] bytes)
    {
        var content = new StreamContent(new UnseekableStream(bytes));
        content.Headers.ContentType = new("image/jpeg");
        return content;
    }

    /// <summary>A stream whose length HttpClient cannot know, so it sends the body chunked.</summary>
    sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
