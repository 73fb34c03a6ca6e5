using FineTune.Charts;
using FineTune.Evaluation;

namespace FineTune.Reports;

public static partial class HtmlReport
{
    /// <summary>The run's loss, accuracy and learning rate per epoch, as the PNG charts training draws, embedded.</summary>
    static void WriteCurves(TextWriter w, string experiment, IReadOnlyList<EpochRecord> history)
    {
        w.WriteLine("<section id=\"curves\"><h2>Training</h2>");
        if (history.Count == 0)
        {
            w.WriteLine("<p class=\"unknown\">No training history: neither the checkpoint nor a results.json beside it records epochs.</p></section>");
            return;
        }
        var best = EpochRecord.Best(history);
        w.WriteLine($"<p class=\"hint\">{history.Count} epoch{(history.Count == 1 ? "" : "s")}" +
                    (best is null ? "." : $"; best validation accuracy {Html.Percent(best.ValAccuracy, 2)} at epoch {best.Epoch}.") + "</p>");
        w.WriteLine($"<img class=\"chart\" alt=\"loss and accuracy per epoch\" src=\"{Thumbnails.PngDataUri(TrainingCurvesChart.Render(experiment, history))}\">");
        if (LearningRateChart.Render(history) is { } rates)
            w.WriteLine($"<img class=\"chart lr\" alt=\"learning rate per epoch\" src=\"{Thumbnails.PngDataUri(rates)}\">");
        else w.WriteLine("<p class=\"unknown\">The history records no learning rates.</p>");
        w.WriteLine("</section>");
    }
}
