namespace FineTune.Reports;

public static partial class HtmlReport
{
    /// <summary>
    /// "What the network looked at": Grad-CAM overlays for the misclassified images (up to the gallery's cap, said
    /// when capped) and a sample of correct ones, each with its true and predicted class and the probability.
    /// </summary>
    static void WriteGradCam(TextWriter w, IReadOnlyList<string> names, GradCamGallery? gallery)
    {
        w.WriteLine("<section id=\"gradcam\"><h2>What the network looked at</h2>");
        if (gallery is null || gallery.Unavailable is not null)
        {
            w.WriteLine($"<p class=\"unknown\">No heatmaps: {Html.Escape(gallery?.Unavailable ?? "Grad-CAM was not computed for this page")}.</p></section>");
            return;
        }
        w.WriteLine("<p class=\"hint\">Grad-CAM on the last stage (layer4) for the <em>predicted</em> class: the warmer the colour, the more that " +
                    "part of the image raised the score of the class the network chose. Each map is scaled to its own strongest point; " +
                    "a map with no colour means no region argued for the prediction. The image is the one the network saw (resized and cropped).</p>");
        w.WriteLine("<div class=\"legend\"><span>weak</span><span class=\"ramp\"></span><span>strong evidence</span></div>");

        var shown = gallery.Misclassified.Count;
        w.WriteLine($"<h3>Misclassified ({Html.Count(gallery.MisclassifiedTotal)})</h3>");
        if (gallery.MisclassifiedTotal == 0) w.WriteLine("<p>No image was misclassified.</p>");
        else if (shown < gallery.MisclassifiedTotal)
            w.WriteLine($"<p class=\"hint\">Heatmaps for the first {Html.Count(shown)} of {Html.Count(gallery.MisclassifiedTotal)} misclassified images, most confident mistakes first (capped to keep the page light).</p>");
        WriteCams(w, names, gallery.Misclassified, "wrong");

        w.WriteLine($"<h3>Correct, a sample of {Html.Count(gallery.Correct.Count)} of {Html.Count(gallery.CorrectTotal)}</h3>");
        if (gallery.Correct.Count == 0) w.WriteLine("<p>No image was classified correctly.</p>");
        WriteCams(w, names, gallery.Correct, "right");
        w.WriteLine("</section>");
    }

    static void WriteCams(TextWriter w, IReadOnlyList<string> names, IReadOnlyList<GradCamImage> images, string kind)
    {
        if (images.Count == 0) return;
        w.WriteLine("<div class=\"gallery cams\">");
        foreach (var (s, overlay) in images)
        {
            w.Write($"<figure class=\"cam {kind}\">{Thumbnail(overlay, s.Path)}<figcaption>");
            w.Write($"<div class=\"truth\">true <b>{Html.Escape(names[s.TrueLabel])}</b></div>");
            w.Write($"<div class=\"guess\">predicted <b>{Html.Escape(names[s.PredictedLabel])}</b> {Html.Percent(s.Confidence)}</div>");
            w.WriteLine("</figcaption></figure>");
        }
        w.WriteLine("</div>");
    }
}
