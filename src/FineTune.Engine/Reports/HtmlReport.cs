using System.Text;
using FineTune.Evaluation;
using FineTune.IO;

namespace FineTune.Reports;

/// <summary>
/// <c>report.html</c>: the test report as one self-contained page to look at (headline, run card, per-class table,
/// confusion matrix and most-confused pairs, every misclassified image, Grad-CAM heatmaps, training curves). Nothing in it reaches the
/// network: styles and script are inline, images are data: URIs. The page is streamed to disk as it is built and
/// thumbnails are made one at a time, so its memory does not grow with the test set.
/// </summary>
public static partial class HtmlReport
{
    public const string FileName = "report.html";

    /// <summary>The gallery shows at most this many misclassified images (and says so when there are more): a page a browser still opens.</summary>
    public const int DefaultGalleryCap = 5000;

    /// <summary>
    /// Writes the page to <paramref name="path"/> atomically. <paramref name="imageFile"/> maps a sample's path to the
    /// image file on disk (null when there is none, e.g. synthetic data); <paramref name="history"/> is the run's
    /// epochs, empty when unknown. <paramref name="heatmaps"/> are the Grad-CAM overlays (null: the section says none were computed).
    /// </summary>
    public static void Save(string path, TestReport report, RunCard card, IReadOnlyList<EpochRecord> history,
        Func<string, string?> imageFile, int galleryCap = DefaultGalleryCap, GradCamGallery? heatmaps = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(galleryCap);
        AtomicWrite.With(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            var misclassified = MisclassifiedFiles.Ordered(report.Samples).ToList();
            var pairs = ConfusedPair.Top(report, misclassified, imageFile);
            WriteHead(w, $"{card.Experiment}: test report");
            WriteHeadline(w, report.Summary, card);
            WriteRunCard(w, card, report.Summary);
            WriteClassTable(w, report);
            WriteConfusion(w, report, pairs);
            WriteGallery(w, report.ClassNames, misclassified, imageFile, galleryCap, pairs);
            WriteGradCam(w, report.ClassNames, heatmaps);
            WriteCurves(w, card.Experiment, history);
            WriteTail(w, "Written by FineTune's <code>finetune test</code>; the same numbers are in classification_report.json, confusion_matrix.csv and misclassified.csv beside this file.");
        });
    }

    static void WriteHeadline(TextWriter w, TestSummary s, RunCard card)
    {
        w.WriteLine($"<header><h1>{Html.Escape(card.Experiment)}</h1><p class=\"sub\">Test report for {Html.Escape(card.Checkpoint)}</p>");
        w.WriteLine("<div class=\"tiles\">");
        Tile(w, "Accuracy", Html.Percent(s.Accuracy, 2), $"{Html.Count(s.SampleCount - s.MisclassifiedCount)} of {Html.Count(s.SampleCount)} right", "accuracy");
        Tile(w, "Top-5 accuracy", Html.Percent(s.Top5Accuracy, 2), "true class among the 5 most probable", "top5");
        Tile(w, "Test images", Html.Count(s.SampleCount), $"{Html.Count(s.ClassCount)} classes, {Html.Count(s.MisclassifiedCount)} misclassified", "images");
        Tile(w, "Test time", Html.Seconds(s.TestSeconds), $"{Html.Fixed(s.ImagesPerSecond, 1)} images/s", "time");
        w.WriteLine("</div>");
        w.WriteLine("<nav><a href=\"#classes\">Per class</a><a href=\"#confusion\">Confusion</a><a href=\"#misclassified\">Misclassified</a><a href=\"#gradcam\">What it looked at</a><a href=\"#curves\">Training</a><a href=\"#run\">Run card</a></nav></header>");
    }

    internal static void Tile(TextWriter w, string label, string value, string note, string id) =>
        w.WriteLine($"<div class=\"tile\" id=\"tile-{id}\"><div class=\"label\">{label}</div><div class=\"value\">{value}</div><div class=\"note\">{note}</div></div>");

    static void WriteRunCard(TextWriter w, RunCard card, TestSummary s)
    {
        string Known(string? value) => value is null ? "<span class=\"unknown\">not recorded</span>" : Html.Escape(value);
        string Images(int? count) => count is { } n ? Html.Count(n) : "?";
        w.WriteLine("<section id=\"run\"><h2>Run card</h2><dl class=\"card\">");
        void Row(string term, string html) => w.WriteLine($"<dt>{term}</dt><dd>{html}</dd>");
        Row("Data", $"{Images(card.TrainImages)} train, {Images(card.ValImages)} validation, {Images(card.TestImages)} test images" +
                    (card.Data is null ? "" : $" <span class=\"path\">{Html.Escape(card.Data)}</span>"));
        Row("Split", card.SplitHash is null ? Known(null) : $"<span class=\"path\">{Html.Escape(card.SplitHash)}</span> <span class=\"hint\">(hash of the train/validation/test split the checkpoint was trained on)</span>");
        Row("Model", Html.Escape(card.Model));
        Row("Weights", Known(card.Weights));
        Row("Recipe", Known(card.Recipe));
        Row("Checkpoint", $"<span class=\"path\">{Html.Escape(card.Checkpoint)}</span>");
        Row("Precision", Known(card.Precision));
        Row("Kernels", Known(card.KernelPlan));
        Row("Evaluation", Known(card.Evaluation));
        Row("Device", Known(card.Device));
        Row("CPU", Known(card.Cpu));
        Row("Wall time", $"test pass {Html.Seconds(s.TestSeconds)}" + (card.WallSeconds is { } wall ? $"; the whole test until this report {Html.Seconds(wall)}" : ""));
        w.WriteLine("</dl></section>");
    }
}
