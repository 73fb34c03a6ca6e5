using System.Text.RegularExpressions;
using FineTune.Evaluation;
using FineTune.Reports;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Reports;

/// <summary>report.html's "What the network looked at": a heatmap per misclassified image up to the cap, a seeded sample of correct ones, inline JPEGs.</summary>
public class GradCamReportTests
{
    [Fact]
    public void Finetune_test_draws_a_heatmap_for_every_misclassified_image_and_a_sample_of_correct_ones()
    {
        var run = new ReportRun(classes: 3, perClass: 12);
        var html = run.Html;
        var wrong = run.MisclassifiedRows.Count;
        Assert.NotEqual(0, wrong); // random weights: there are mistakes to explain
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run.ReportDir, TestReport.SummaryJsonFile)));
        var right = summary.RootElement.GetProperty("sample_count").GetInt32() - wrong;

        var heatmaps = Regex.Matches(html, @"<figure class=""cam wrong""><img src=""data:image/jpeg;base64,([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(Math.Min(wrong, GradCamGallery.DefaultMisclassifiedCap), heatmaps.Count);
        Assert.Equal(Math.Min(right, GradCamGallery.DefaultCorrectSample), Regex.Matches(html, @"<figure class=""cam right""><img src=""data:image/jpeg").Count);
        foreach (var base64 in heatmaps)
        {
            using var bitmap = SKBitmap.Decode(Convert.FromBase64String(base64));
            Assert.NotNull(bitmap);
            Assert.InRange(Math.Max(bitmap.Width, bitmap.Height), 1, HeatmapOverlay.MaxSide);
        }
        Assert.Contains("Grad-CAM on the last stage (layer4)", html);
        Assert.DoesNotContain("Heatmaps for the first", html); // not capped
    }

    [Fact]
    public void The_section_says_when_it_is_capped_and_why_there_are_no_heatmaps()
    {
        var names = new[] { "cat", "dog" };
        var samples = Enumerable.Range(0, 10).Select(i => new SamplePrediction($"img{i}.jpg", i % 2, i < 6 ? [0.3f, 0.7f] : [0.8f, 0.2f])).ToList();
        var report = new TestReport(names, samples, TimeSpan.FromSeconds(1));
        var (wrong, right) = GradCamGallery.Choose(samples, seed: 1, cap: 2, correct: 3);
        Assert.Equal(MisclassifiedFiles.Ordered(samples).Take(2), wrong);
        Assert.Equal(3, right.Count);
        Assert.Equal(right, GradCamGallery.Choose(samples, seed: 1, cap: 2, correct: 3).Correct); // seeded: the same draw again
        var gallery = new GradCamGallery([.. wrong.Select(s => new GradCamImage(s, null))], report.Summary.MisclassifiedCount,
            [.. right.Select(s => new GradCamImage(s, null))], report.Summary.SampleCount - report.Summary.MisclassifiedCount);

        var page = Save(report, gallery);
        Assert.Contains($"Heatmaps for the first 2 of {report.Summary.MisclassifiedCount} misclassified images", page);
        Assert.Equal(2, Regex.Matches(page, @"<figure class=""cam wrong"">").Count);
        Assert.Equal(3, Regex.Matches(page, @"<figure class=""cam right"">").Count);

        Assert.Contains("No heatmaps: synthetic images have no files.", Save(report, GradCamGallery.NotComputed("synthetic images have no files")));
    }

    [Fact]
    public void Hot_places_are_drawn_red_and_cold_ones_stay_blue_grey()
    {
        const int size = 64;
        var grey = Enumerable.Repeat(0.5f, 3 * size * size).ToArray();
        var heat = Enumerable.Range(0, size * size).Select(i => i % size < size / 2 ? 0f : 1f).ToArray(); // right half hot
        var uri = HeatmapOverlay.DataUri(grey, heat, size, size)!;
        using var bitmap = SKBitmap.Decode(Convert.FromBase64String(uri["data:image/jpeg;base64,".Length..]));
        var (cold, hot) = (bitmap.GetPixel(bitmap.Width / 8, bitmap.Height / 2), bitmap.GetPixel(bitmap.Width * 7 / 8, bitmap.Height / 2));
        Assert.True(hot.Red > 100 && hot.Red > 2 * hot.Blue && hot.Red > 2 * hot.Green, $"hot pixel {hot}"); // jet ends in dark red
        Assert.True(cold.Blue > cold.Red + 20, $"cold pixel {cold}");
        Assert.Equal((0f, 0f, 0.5f), HeatmapOverlay.Jet(0));
        Assert.Equal((0.5f, 0f, 0f), HeatmapOverlay.Jet(1));
    }

    static string Save(TestReport report, GradCamGallery gallery)
    {
        var path = Path.Combine(TestFiles.TempDir("gradcam-page"), HtmlReport.FileName);
        HtmlReport.Save(path, report, new RunCard { Experiment = "cams", Checkpoint = "none", Model = "none" }, [], _ => null, heatmaps: gallery);
        return File.ReadAllText(path);
    }
}
