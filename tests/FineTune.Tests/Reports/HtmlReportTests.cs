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

    static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;
}
