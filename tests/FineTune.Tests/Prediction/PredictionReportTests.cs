using System.Text.RegularExpressions;
using Xunit;

namespace FineTune.Tests.Prediction;

/// <summary>
/// <see cref="PredictionReport"/>, the library's one call behind `finetune predict FOLDER --out --report`: a CSV row per
/// image (unreadable ones too) and a self-contained gallery of the least confident predictions, lowest first.
/// </summary>
[Xunit.Collection(RestoresKernelPlan.Collection)]
public class PredictionReportTests : RestoresKernelPlan
{
    static readonly Regex Card = new(@"<figure class=""pred"" data-p=""([^""]+)"">.*?<div class=""path"" title=""([^""]*)"">", RegexOptions.Singleline);

    [Fact]
    public void The_csv_has_a_parseable_row_per_image_with_the_classifiers_answers_and_an_error_row_for_a_broken_file()
    {
        var photos = new PhotoFolder();
        var csv = Path.Combine(photos.Root, "out", "predictions.csv");
        using var classifier = Classifier.Load(photos.Model);

        var summary = PredictionReport.Write(classifier, photos.Photos, new PredictionReportOptions { CsvPath = csv, TopK = 2 });

        Assert.Equal((photos.ImageCount, 1), (summary.Images, summary.Failed));
        var rows = PhotoFolder.ReadCsv(csv);
        Assert.Equal(["path", "top1", "p1", "top2", "p2", "error"], rows[0]);
        Assert.Equal(photos.ImageCount, rows.Count - 1);
        Assert.All(rows, r => Assert.Equal(6, r.Length));
        // Names relative to the folder given, '/' between folders; the odd name survives the quoting whole.
        Assert.Contains(rows, r => r[0].EndsWith("/" + PhotoFolder.OddName, StringComparison.Ordinal));
        var quoted = File.ReadAllText(csv).Split('\n').Single(l => l.Contains("odd,", StringComparison.Ordinal));
        Assert.StartsWith("\"", quoted);
        Assert.Contains("odd, \"\"quoted\"\" name.png\",", quoted);
        var broken = Assert.Single(rows.Skip(1), r => r[5].Length > 0);
        Assert.Equal(PhotoFolder.BrokenName, broken[0]);
        Assert.All(broken[1..5], field => Assert.Equal("", field));
        Assert.DoesNotContain(rows, r => r[0].EndsWith(".txt", StringComparison.Ordinal));
        foreach (var row in rows.Skip(1).Where(r => r[5].Length == 0))
        {
            // Each row is the classifier's own answer for that file, one image at a time: no row belongs to another image.
            var alone = classifier.Predict(Path.Combine(photos.Photos, row[0]), topK: 2);
            Assert.Equal([alone[0].ClassName, alone[1].ClassName], [row[1], row[3]]);
            // Within the CSV's 6 decimals (rounding places, as Assert.Equal(a, b, n) compares, fail on a boundary: 0.35185045 vs 0.351850).
            Assert.True(Math.Abs(alone[0].Probability - PhotoFolder.Number(row[2])) <= 1e-6, $"{row[0]}: {alone[0].Probability} alone, {row[2]} in the CSV");
            Assert.True(PhotoFolder.Number(row[2]) >= PhotoFolder.Number(row[4]));
        }
    }

    [Fact]
    public void The_gallery_shows_the_least_confident_first_up_to_its_cap_and_lists_the_unreadable_file()
    {
        var photos = new PhotoFolder();
        var (csv, html) = (Path.Combine(photos.Root, "p.csv"), Path.Combine(photos.Root, "p.html"));
        using var classifier = Classifier.Load(photos.Model);
        const int cap = 10;

        var summary = PredictionReport.Write(classifier, photos.Photos, new PredictionReportOptions { CsvPath = csv, HtmlPath = html, TopK = 1, GalleryCap = cap });

        Assert.Equal(cap, summary.Shown);
        var page = File.ReadAllText(html);
        var cards = Card.Matches(page).Select(m => (P: PhotoFolder.Number(m.Groups[1].Value), Name: System.Net.WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
        Assert.Equal(cap, cards.Count);
        Assert.Equal(cards.Select(c => c.P).Order(), cards.Select(c => c.P));
        // The cards are the least confident of all the CSV's images, not of some first chunk.
        var p1 = PhotoFolder.ReadCsv(csv).Skip(1).Where(r => r[3].Length == 0).ToDictionary(r => r[0], r => PhotoFolder.Number(r[2]));
        var lowest = p1.Values.Order().Take(cap).ToList();
        for (int i = 0; i < cap; i++)
        {
            // The CSV holds 6 decimals, the cards the full probability: equal within the CSV's rounding.
            Assert.True(Math.Abs(lowest[i] - cards[i].P) <= 1e-6, $"card {i}: {cards[i].P}, the CSV's {i + 1}th lowest {lowest[i]}");
            Assert.True(Math.Abs(p1[cards[i].Name] - cards[i].P) <= 1e-6, $"{cards[i].Name}: card {cards[i].P}, CSV {p1[cards[i].Name]}");
        }
        Assert.Contains($"The {cap} least confident of {photos.ImageCount - 1} classified images", page);
        Assert.Contains($"at most {cap}", page);
        Assert.Matches(@"<li><span class=""path"">broken\.jpg</span>: ", page);
        // Top 3 on each card although the CSV asked for the top 1 (the model knows 3 classes).
        Assert.Equal(3 * cap, Regex.Matches(page, @"<ol class=""top""><li>|</li><li>").Count);
    }

    [Fact]
    public void The_gallery_is_one_self_contained_file()
    {
        var photos = new PhotoFolder();
        var html = Path.Combine(photos.Root, "gallery.html");
        using var classifier = Classifier.Load(photos.Model);

        PredictionReport.Write(classifier, photos.Photos, new PredictionReportOptions { HtmlPath = html });

        var page = File.ReadAllText(html);
        var references = Regex.Matches(page, @"\b(?:src|href)\s*=\s*""([^""]*)""").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(references);
        // Only inline images and links within the page: nothing to fetch, nothing that breaks when the file is mailed.
        Assert.All(references, r => Assert.True(r.StartsWith("data:image/", StringComparison.Ordinal) || r.StartsWith('#'), r));
        Assert.DoesNotContain("url(", page);
        Assert.DoesNotContain("@import", page);
        Assert.Equal(photos.ImageCount - 1, Regex.Matches(page, @"<img src=""data:image/jpeg;base64,").Count);
        Assert.Contains($"All {photos.ImageCount - 1} classified images, least confident first.", page);
        Assert.Empty(Directory.GetFiles(photos.Root, "*.tmp")); // the atomic write left no temporary file
    }
}
