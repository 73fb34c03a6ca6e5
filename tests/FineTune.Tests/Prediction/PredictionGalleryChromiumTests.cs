using System.Text.RegularExpressions;
using FineTune.Tests.Reports;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Prediction;

/// <summary>The prediction gallery in a real browser (headless chromium): it loads without console errors and draws its cards.</summary>
[Xunit.Collection(RestoresKernelPlan.Collection)]
public class PredictionGalleryChromiumTests(ITestOutputHelper output) : RestoresKernelPlan
{
    [ChromiumFact]
    public void The_gallery_loads_in_chromium_with_a_card_per_classified_image_and_draws_a_page()
    {
        var photos = new PhotoFolder();
        var html = Path.Combine(photos.Root, "predictions.html");
        using (var classifier = Classifier.Load(photos.Model))
            PredictionReport.Write(classifier, photos.Photos, new PredictionReportOptions { HtmlPath = html });

        var dom = Chromium.DumpDom(html);
        Assert.True(dom.Code == 0, $"chromium --dump-dom failed ({dom.Code}): {dom.Err}");
        Assert.Empty(Chromium.ConsoleLines(dom));
        Assert.Matches(new Regex(@"<body[^>]*\bdata-ready=""1"""), dom.Out);
        // Counted in the DOM the browser built: every readable image has its card, the broken file its line.
        Assert.Equal(photos.ImageCount - 1, Regex.Matches(dom.Out, @"<figure class=""pred""").Count);
        Assert.Single(Regex.Matches(dom.Out, @"<li><span class=""path"">"));

        var png = Path.Combine(photos.Root, "screenshot.png");
        var shot = Chromium.Screenshot(html, png, 1280, 1600);
        Assert.True(shot.Code == 0 && File.Exists(png), $"chromium --screenshot failed ({shot.Code}): {shot.Err}");
        Assert.Empty(Chromium.ConsoleLines(shot));
        var (mean, deviation, inked) = ChromiumReportTests.Brightness(png);
        output.WriteLine($"screenshot {png}: mean brightness {mean:F1}, standard deviation {deviation:F1}, {100 * inked:F1}% of pixels darker than light grey");
        Assert.True(deviation > 10, $"the screenshot looks blank: brightness deviation {deviation:F1}");
        Assert.True(inked > 0.01, $"the screenshot looks blank: only {100 * inked:F2}% of its pixels are not near-white");
    }
}
