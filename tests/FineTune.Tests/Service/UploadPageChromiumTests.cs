using System.Globalization;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Service;

/// <summary><c>GET /</c> in a real browser: a person chooses a photo, clicks Classify, and reads the classes on the page.</summary>
[Collection(ServiceCollection.Name)]
public sealed class UploadPageChromiumTests(ITestOutputHelper output)
{
    const string State = "document.getElementById('result').dataset.state";

    [ChromiumFact]
    public async Task A_photo_chosen_in_the_form_shows_its_classes_and_a_wrong_file_shows_the_reason()
    {
        var folder = TestRunFolder.New("service-page");
        var photo = ExportImages.Write(folder, 2)[1];
        var notes = TestFiles.Write(folder, "notes.txt", "not a photo"u8.ToArray());
        using var service = ServiceProcess.Start("--model", ServiceModel.Onnx);
        using var client = service.Client();
        var expected = await ServiceProcess.TopClassesAsync(await client.PostAsync("classify", ServiceProcess.Form(await File.ReadAllBytesAsync(photo))));

        await using var page = await ChromiumDevTools.OpenAsync(service.BaseAddress.AbsoluteUri);
        Assert.Equal("idle", (await page.EvaluateAsync(State)).GetString());
        await page.ChooseFileAsync("#image", photo);
        await page.ClickAsync("#submit");
        Assert.Equal("done", (await page.WaitForAsync(State, s => s.GetString() is "done" or "error")).GetString());

        // Read off the DOM the browser built: the classes in order, each with its percentage as the page prints it.
        var shown = await page.EvaluateAsync("[...document.querySelectorAll('#classes tr')].map(r => [r.cells[0].firstChild.textContent, r.cells[1].textContent])");
        var rows = shown.EnumerateArray().Select(r => (Class: r[0].GetString()!, Percent: r[1].GetString()!)).ToList();
        output.WriteLine(string.Join("\n", rows.Select(r => $"{r.Class}\t{r.Percent}")));
        Assert.Equal(expected.Select(e => e.Class), rows.Select(r => r.Class));
        Assert.Equal((100 * expected[0].Probability).ToString("F2", CultureInfo.InvariantCulture) + "%", rows[0].Percent);
        Assert.True((await page.EvaluateAsync("document.getElementById('error').hidden")).GetBoolean());
        // The page loaded nothing from elsewhere and threw nothing: its content policy would have logged any attempt.
        Assert.Empty(page.Errors);

        // A file that is not an image: the page shows the service's reason instead of classes.
        await page.ChooseFileAsync("#image", notes);
        await page.ClickAsync("#submit");
        Assert.Equal("error", (await page.WaitForAsync(State, s => s.GetString() is "done" or "error")).GetString());
        var message = (await page.EvaluateAsync("document.getElementById('error').textContent")).GetString()!;
        output.WriteLine(message);
        Assert.Contains("415", message);
        Assert.Contains("not an image", message);
        Assert.True((await page.EvaluateAsync("document.getElementById('classes').hidden")).GetBoolean());
        // The browser logs the refused request itself, and nothing else.
        Assert.Contains("the server responded with a status of 415", Assert.Single(page.Errors));
    }
}
