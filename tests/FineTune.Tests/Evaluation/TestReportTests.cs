using FineTune.Reports;
using System.Text.Json.Nodes;
using FineTune.Evaluation;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Evaluation;

public class TestReportTests
{
    static readonly string[] Names = ["accordion", "air,plane", "anchor"];

    static SamplePrediction[] Samples() =>
    [
        new("data/accordion/1.jpg", 0, [0.9f, 0.05f, 0.05f]),
        new("data/accordion/2.jpg", 0, [0.3f, 0.6f, 0.1f]),     // mistake, confidence 0.6
        new("data/air,plane/1.jpg", 1, [0.1f, 0.8f, 0.1f]),
        new("data/anchor/1.jpg", 2, [0.05f, 0.05f, 0.9f]),
        new("data/anchor/2.jpg", 2, [0.95f, 0.03f, 0.02f]),   // mistake, confidence 0.95
    ];

    [Fact]
    public void Writes_every_report_file_and_leaves_no_temporary_files()
    {
        using var folder = new TempFolder();
        var report = new TestReport(Names, Samples(), TimeSpan.FromSeconds(2), "tiny", "ckpt.pth");
        var written = TestReportFiles.Write(report, System.IO.Path.Combine(folder.Path, "reports"));

        var expected = new[]
        {
            TestReport.ReportTextFile, TestReport.ReportJsonFile, TestReport.ConfusionCsvFile,
            TestReport.ConfusionPngFile, TestReport.MisclassifiedCsvFile, TestReport.SummaryJsonFile,
        };
        Assert.Equal(expected.Order(), written.Select(System.IO.Path.GetFileName).Order());
        Assert.Equal(expected.Order(), Directory.GetFiles(System.IO.Path.Combine(folder.Path, "reports")).Select(System.IO.Path.GetFileName).Order());
    }

    [Fact]
    public void Summary_holds_accuracy_top5_time_and_count()
    {
        using var folder = new TempFolder();
        // Seven classes, so top-5 can miss: the last sample's true class is the least probable.
        string[] seven = ["a", "b", "c", "d", "e", "f", "g"];
        float[] ranked = [0.30f, 0.25f, 0.20f, 0.10f, 0.08f, 0.05f, 0.02f];
        SamplePrediction[] samples =
        [
            new("x/1.jpg", 0, ranked), new("x/2.jpg", 0, ranked), new("x/3.jpg", 0, ranked),
            new("x/4.jpg", 3, ranked), // wrong, but in the top 5
            new("x/5.jpg", 6, ranked), // wrong, outside the top 5
        ];
        TestReportFiles.Write(new TestReport(seven, samples, TimeSpan.FromSeconds(2), "tiny", "ckpt.pth"), folder.Path);
        var summary = JsonNode.Parse(File.ReadAllText(folder.File(TestReport.SummaryJsonFile)))!;
        Assert.Equal(0.6, summary["accuracy"]!.GetValue<double>());
        Assert.Equal(0.8, summary["top5_accuracy"]!.GetValue<double>());
        Assert.Equal(5, summary["sample_count"]!.GetValue<int>());
        Assert.Equal(2, summary["misclassified_count"]!.GetValue<int>());
        Assert.Equal(2.0, summary["test_seconds"]!.GetValue<double>());
        Assert.Equal(2.5, summary["images_per_second"]!.GetValue<double>());
        Assert.Equal("tiny", summary["experiment"]!.GetValue<string>());
    }

    [Fact]
    public void Confusion_csv_has_a_header_of_class_names_and_counts_by_true_row()
    {
        var report = new TestReport(Names, Samples(), TimeSpan.FromSeconds(1));
        var lines = report.Confusion.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("true\\predicted,accordion,\"air,plane\",anchor", lines[0]);
        Assert.Equal("accordion,1,1,0", lines[1]);
        Assert.Equal("\"air,plane\",0,1,0", lines[2]);
        Assert.Equal("anchor,1,0,1", lines[3]);
    }

    [Fact]
    public void Misclassified_csv_lists_mistakes_most_confident_first()
    {
        var csv = MisclassifiedFiles.ToCsv(Samples(), Names).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["path,true,predicted,confidence",
                      "data/anchor/2.jpg,anchor,accordion,0.9500",
                      "data/accordion/2.jpg,accordion,\"air,plane\",0.6000"], csv);
    }

    [Fact]
    public void Confusion_png_is_a_decodable_image_sized_for_101_classes()
    {
        var names = Enumerable.Range(0, 101).Select(i => $"category_{i}").ToArray();
        var labels = Enumerable.Range(0, 505).Select(i => i % 101).ToArray();
        var predicted = labels.Select((l, i) => i % 7 == 0 ? (l + 1) % 101 : l).ToArray();
        var png = FineTune.Charts.ConfusionMatrixChart.Render(new ConfusionMatrix(names, labels, predicted));
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.InRange(bitmap.Width, 101 * 10, 2000);   // at least 10 px a cell, still a viewable picture
        Assert.InRange(bitmap.Height, 101 * 10, 2000);
    }

    [Fact]
    public void Probabilities_that_do_not_match_the_class_list_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new TestReport(Names, [new SamplePrediction("x.jpg", 0, [1f, 0f])], TimeSpan.Zero));
        Assert.Contains("x.jpg", e.Message);
        Assert.Contains("3 classes", e.Message);
    }

    [Fact]
    public void A_report_folder_that_cannot_be_created_is_named_in_the_error()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("blocker"), "a file where the folder should go");
        var report = new TestReport(Names, Samples(), TimeSpan.FromSeconds(1));
        var target = System.IO.Path.Combine(folder.File("blocker"), "reports");
        var e = Assert.Throws<IOException>(() => TestReportFiles.Write(report, target));
        Assert.Contains(target, e.Message);
    }
}

public class TestReportSummaryTextTests
{
    [Fact]
    public void Summary_text_gives_accuracy_top5_time_and_warnings()
    {
        // Seven classes, so top-5 can miss: b.jpg's true class is the least probable.
        SamplePrediction[] samples = [new("a.jpg", 0, [0.4f, 0.2f, 0.15f, 0.1f, 0.08f, 0.05f, 0.02f]), new("b.jpg", 1, [0.4f, 0.02f, 0.15f, 0.1f, 0.08f, 0.05f, 0.2f])];
        var text = new TestReport(["a", "b", "c", "d", "e", "f", "never_seen"], samples, TimeSpan.FromSeconds(4)).SummaryText();
        Assert.StartsWith("Test accuracy: 50.00%  top-5: 50.00%  (1/2 right)\nTest time: 4.0 s (0.5 images/s)\n", text);
        Assert.Contains("warning: Precision is ill-defined", text);
        Assert.Contains("never_seen", text);
    }
}
