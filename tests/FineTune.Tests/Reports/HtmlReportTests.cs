using System.Globalization;
using System.Text.RegularExpressions;
using FineTune.Reports;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Reports;

/// <summary>report.html as `finetune test` writes it: one self-contained page, every class and every mistake on it, names escaped.</summary>
public class HtmlReportTests
{
    const string Hostile = "<b>&\"";

    [Fact]
    public void Report_html_has_a_row_per_class_a_picture_per_mistake_no_network_references_and_escaped_names()
    {
        var run = new ReportRun(classes: 3, perClass: 12, renameFirstClass: Hostile);
        var html = run.Html;

        Assert.Equal(run.Experiment.ClassCount, Count(html, "<tr class=\"cls\""));
        Assert.NotEmpty(run.MisclassifiedRows); // random weights: the gallery is tested with something in it
        Assert.Equal(run.MisclassifiedRows.Count, Count(html, "class=\"miss\""));

        // Nothing reaches the network: no http(s) or protocol-relative source, link or CSS url, and every image is inline.
        Assert.DoesNotMatch(new Regex(@"(?:src|href)\s*=\s*[""']?\s*(?:https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"url\(\s*[""']?\s*(?:https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("@import", html);
        var images = Regex.Matches(html, @"<img [^>]*src=""([^""]*)""").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(images);
        Assert.All(images, src => Assert.StartsWith("data:image/", src));

        // The class folder named <b>&" shows as text everywhere, never as markup.
        Assert.DoesNotContain(Hostile, html);
        Assert.Contains("&lt;b&gt;&amp;&quot;", html);
    }

    [Fact]
    public void Worst_classes_come_first_and_thumbnails_are_small_jpegs()
    {
        var run = new ReportRun(classes: 4, perClass: 12);
        var html = run.Html;

        // Column 4 of the per-class table is F1, in ascending order as written (before any script runs).
        var f1 = Regex.Matches(html, @"<td class=""num bar"" data-v=""([^""]+)""").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(run.Experiment.ClassCount, f1.Count);
        Assert.Equal(f1.Order(), f1);

        var thumbnails = Regex.Matches(html, @"<figure class=""miss""><img src=""data:image/jpeg;base64,([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(run.MisclassifiedRows.Count, thumbnails.Count);
        foreach (var base64 in thumbnails)
        {
            using var bitmap = SKBitmap.Decode(Convert.FromBase64String(base64));
            Assert.NotNull(bitmap);
            Assert.InRange(Math.Max(bitmap.Width, bitmap.Height), 1, Thumbnails.MaxSide);
        }
        Assert.Contains("misclassified images, most confident mistakes first", html);
        Assert.Contains("class=\"chart\"", html); // the fixture's results.json has an epoch: its curves are embedded
    }

    [Fact]
    public void A_hundred_thousand_test_images_make_a_page_that_states_its_gallery_cap()
    {
        // 100,000 predictions over 10 classes, every tenth one wrong, all pointing at one 640x480 JPEG: the page is
        // streamed to disk and thumbnails are made one at a time, so this costs time in the thumbnails, not memory.
        var dir = TestFiles.TempDir("bigreport");
        var photo = TestFiles.Write(dir, "photo.jpg", TestFiles.Encode(640, 480, SKColors.OrangeRed, SKColors.SteelBlue));
        var names = Enumerable.Range(0, 10).Select(c => $"class_{c}").ToList();
        var samples = Enumerable.Range(0, 100_000).Select(i =>
        {
            var label = i % 10;
            var probabilities = new float[10];
            probabilities[i % 100 == 0 || i % 10 != 0 ? label : (label + 1) % 10] = 0.9f; // predicted: the one at 0.9
            for (var c = 0; c < 10; c++) if (probabilities[c] == 0) probabilities[c] = 0.1f / 9;
            return new FineTune.Evaluation.SamplePrediction($"class_{label}/{i:000000}.jpg", label, probabilities);
        }).ToList();
        var report = new FineTune.Evaluation.TestReport(names, samples, TimeSpan.FromSeconds(100));
        var wrong = report.Summary.MisclassifiedCount;
        Assert.Equal(9_000, wrong);

        var path = Path.Combine(dir, HtmlReport.FileName);
        HtmlReport.Save(path, report, new RunCard { Experiment = "big", Checkpoint = "none", Model = "none" }, [], _ => photo);
        var html = File.ReadAllText(path);
        Assert.Equal(HtmlReport.DefaultGalleryCap, Count(html, "class=\"miss\""));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"The first {HtmlReport.DefaultGalleryCap:N0} of {wrong:N0} misclassified images"), html);
        Assert.Contains("No training history", html);
        // About 3 KB a thumbnail: the page stays one a browser opens.
        Assert.InRange(new FileInfo(path).Length, 1, 40L << 20);
    }

    static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;
}
