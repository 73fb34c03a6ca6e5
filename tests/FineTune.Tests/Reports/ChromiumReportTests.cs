using System.Text.RegularExpressions;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Reports;

/// <summary>report.html in a real browser (headless chromium): its script runs without console errors and the page is drawn.</summary>
public class ChromiumReportTests(ITestOutputHelper output)
{
    [ChromiumFact]
    public void The_report_loads_in_chromium_without_console_errors_and_draws_a_page()
    {
        var run = new ReportRun(classes: 5, perClass: 30);

        var dom = Chromium.DumpDom(run.HtmlPath);
        Assert.True(dom.Code == 0, $"chromium --dump-dom failed ({dom.Code}): {dom.Err}");
        Assert.Empty(Chromium.ConsoleLines(dom));
        // The page's script ends by marking <body>: it ran to its end in a real browser.
        Assert.Matches(new Regex(@"<body[^>]*\bdata-ready=""1"""), dom.Out);
        // Counted in the DOM the browser built, not in the file's text.
        Assert.Equal(run.MisclassifiedRows.Count, Regex.Matches(dom.Out, @"<figure class=""miss""").Count);
        Assert.Equal(run.Experiment.ClassCount, Regex.Matches(dom.Out, @"<tr class=""cls""").Count);
        // One Grad-CAM heatmap per misclassified image (the fixture has fewer than the cap).
        Assert.Equal(Math.Min(run.MisclassifiedRows.Count, FineTune.Reports.GradCamGallery.DefaultMisclassifiedCap),
            Regex.Matches(dom.Out, @"<figure class=""cam wrong""><img ").Count);

        var png = Path.Combine(run.ReportDir, "screenshot.png");
        var shot = Chromium.Screenshot(run.HtmlPath, png, 1280, 2000);
        Assert.True(shot.Code == 0 && File.Exists(png), $"chromium --screenshot failed ({shot.Code}): {shot.Err}");
        Assert.Empty(Chromium.ConsoleLines(shot));
        var (mean, deviation, inked) = Brightness(png);
        output.WriteLine($"screenshot {png}: mean brightness {mean:F1}, standard deviation {deviation:F1}, {100 * inked:F1}% of pixels darker than light grey");
        // A blank page is one colour: deviation 0. The report has text, tiles, a coloured matrix and photos.
        Assert.True(deviation > 10, $"the screenshot looks blank: brightness deviation {deviation:F1}");
        Assert.True(inked > 0.01, $"the screenshot looks blank: only {100 * inked:F2}% of its pixels are not near-white");
    }

    /// <summary>Mean and standard deviation of the pixels' brightness (0-255), and the share of pixels darker than light grey.</summary>
    internal static (double Mean, double Deviation, double Inked) Brightness(string png)
    {
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        double sum = 0, squares = 0;
        long inked = 0, n = (long)bitmap.Width * bitmap.Height;
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                var v = 0.299 * c.Red + 0.587 * c.Green + 0.114 * c.Blue;
                sum += v;
                squares += v * v;
                if (v < 200) inked++;
            }
        var mean = sum / n;
        return (mean, Math.Sqrt(Math.Max(0, squares / n - mean * mean)), inked / (double)n);
    }
}
