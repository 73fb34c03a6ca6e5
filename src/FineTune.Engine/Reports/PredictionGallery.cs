using System.Text;
using FineTune.IO;
using FineTune.Prediction;

namespace FineTune.Reports;

/// <summary>
/// The page `finetune predict --report` writes: the least confident predictions first, since that is where a person
/// should look (unfamiliar photos, classes the model lacks, mislabelled folders). One self-contained file in the test
/// report's style: inline styles, thumbnails as data: URIs made one at a time while the page streams to disk.
/// </summary>
static class PredictionGallery
{
    const int TopShown = 3;

    /// <summary>Writes the page to <paramref name="path"/> atomically; <paramref name="model"/> names the model file in its header.</summary>
    public static void Save(string path, string model, int classCount, PredictionTally tally, string? csvPath)
    {
        AtomicWrite.With(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            HtmlReport.WriteHead(w, $"{Path.GetFileName(model)}: predictions");
            WriteHeadline(w, model, classCount, tally);
            WriteConfidence(w, tally);
            WriteUnreadable(w, tally, csvPath);
            WriteCards(w, tally, csvPath);
            HtmlReport.WriteTail(w, "Written by FineTune's <code>finetune predict --report</code>" +
                (csvPath is null ? "." : $"; every image's top classes are in <span class=\"path\">{Html.Escape(Path.GetFileName(csvPath))}</span>."));
        });
    }

    static void WriteHeadline(TextWriter w, string model, int classCount, PredictionTally t)
    {
        int classified = t.Images - t.Failed, unsure = t.Histogram.Take(PredictionTally.Bins / 2).Sum();
        w.WriteLine($"<header><h1>Predictions</h1><p class=\"sub\">by {Html.Escape(model)} ({Html.Count(classCount)} classes)</p>");
        w.WriteLine("<div class=\"tiles\">");
        HtmlReport.Tile(w, "Images", Html.Count(t.Images), $"{Html.Count(classified)} classified", "images");
        HtmlReport.Tile(w, "Below 50%", Html.Count(unsure), "top-1 probability under one half", "unsure");
        HtmlReport.Tile(w, "Unreadable", Html.Count(t.Failed), t.Failed == 0 ? "every file decoded" : "listed below", "unreadable");
        w.WriteLine("</div>");
        w.WriteLine("<nav><a href=\"#confidence\">Confidence</a><a href=\"#unreadable\">Unreadable</a><a href=\"#gallery\">Least confident</a></nav></header>");
    }

    static void WriteConfidence(TextWriter w, PredictionTally t)
    {
        int most = Math.Max(1, t.Histogram.Max()), step = 100 / PredictionTally.Bins;
        w.WriteLine("<section id=\"confidence\"><h2>Confidence</h2><p class=\"hint\">How many images got each top-1 probability.</p>");
        w.WriteLine("<table class=\"pairs\" id=\"confidence-table\"><thead><tr><th>top-1 probability</th><th class=\"num\">images</th></tr></thead><tbody>");
        for (int b = PredictionTally.Bins - 1; b >= 0; b--)
            w.WriteLine($"<tr><td>{b * step}&ndash;{(b + 1) * step}%</td><td class=\"num bar\" style=\"--v:{Html.Data(t.Histogram[b] / (double)most)}\">{Html.Count(t.Histogram[b])}</td></tr>");
        w.WriteLine("</tbody></table></section>");
    }

    static void WriteUnreadable(TextWriter w, PredictionTally t, string? csvPath)
    {
        w.WriteLine("<section id=\"unreadable\"><h2>Unreadable files</h2>");
        if (t.Failed == 0) { w.WriteLine("<p class=\"hint\">None: every file was decoded and classified.</p></section>"); return; }
        var more = t.Failed > t.FirstFailures.Count ? $" The first {Html.Count(t.FirstFailures.Count)} are listed" + (csvPath is null ? "." : "; all are in the CSV.") : "";
        w.WriteLine($"<p class=\"hint\">{Html.Count(t.Failed)} file(s) could not be classified; each was skipped, the rest were not.{more}</p><ul id=\"unreadable-list\">");
        foreach (var (image, error) in t.FirstFailures)
            w.WriteLine($"<li><span class=\"path\">{Html.Escape(image.Name)}</span>: {Html.Escape(error)}</li>");
        w.WriteLine("</ul></section>");
    }

    static void WriteCards(TextWriter w, PredictionTally t, string? csvPath)
    {
        var shown = t.LeastConfidentFirst();
        int classified = t.Images - t.Failed;
        w.WriteLine("<section id=\"gallery\"><h2>Least confident first</h2>");
        w.WriteLine(shown.Count < classified
            ? $"<p class=\"hint\" id=\"gallery-note\">The {Html.Count(shown.Count)} least confident of {Html.Count(classified)} classified images (the page shows at most {Html.Count(t.Cap)})" +
              (csvPath is null ? "." : "; every image is in the CSV.") + "</p>"
            : $"<p class=\"hint\" id=\"gallery-note\">All {Html.Count(classified)} classified images, least confident first.</p>");
        w.WriteLine("<div class=\"gallery\">");
        foreach (var e in shown)
        {
            var top = e.Prediction.TopK;
            w.Write($"<figure class=\"pred\" data-p=\"{Html.Data(e.Confidence)}\">{HtmlReport.Thumbnail(Thumbnails.DataUri(e.Image.File), e.Image.Name)}<figcaption>");
            w.Write($"<div class=\"top1\"><b>{Html.Escape(top[0].ClassName)}</b> {Html.Percent(top[0].Probability)}</div><ol class=\"top\">");
            foreach (var c in top.Take(TopShown)) w.Write($"<li>{Html.Escape(c.ClassName)} {Html.Percent(c.Probability)}</li>");
            w.WriteLine($"</ol><div class=\"path\" title=\"{Html.Escape(e.Image.Name)}\">{Html.Escape(e.Image.Name)}</div></figcaption></figure>");
        }
        w.WriteLine("</div></section>");
    }
}
