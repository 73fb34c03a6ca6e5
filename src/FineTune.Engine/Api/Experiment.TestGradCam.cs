using System.Diagnostics;
using FineTune.Config;
using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Reports;
using FineTune.Weights;
using static TorchSharp.torch;

namespace FineTune;

public static partial class Experiment
{
    /// <summary>
    /// Grad-CAM overlays for report.html: the misclassified test images (most confident first, up to the cap) and a
    /// sample of correct ones, read again from their files through the test's own evaluation transform, so each map
    /// lies over exactly the pixels the network classified. The images are few (at most cap + sample), so a second
    /// pass over them costs seconds, where keeping every test image's activations during the test pass would not.
    /// </summary>
    static GradCamGallery GradCamFor(FineTuneConfig config, TestPass pass, IReadOnlyList<string> classNames, ResNet model,
        Preprocessing preprocessing, int imageSize, Device device, TextWriter log)
    {
        if (pass.NoImageFiles is { } why) return GradCamGallery.NotComputed(why);
        var clock = Stopwatch.StartNew();
        var (wrong, right) = GradCamGallery.Choose(pass.Samples, (ulong)config.Data.Seed);
        var chosen = wrong.Concat(right).ToList();
        if (chosen.Count == 0) return new GradCamGallery([], 0, [], 0);
        var overlays = new Dictionary<SamplePrediction, string?>();
        var dataset = new ImageDataset(config.Data.DataDir, classNames,
            chosen.Select(s => new Sample(pass.ImageFile(s.Path) ?? s.Path, s.Path, s.TrueLabel)).ToList());
        var options = new LoaderOptions(BatchSize: config.Data.BatchSize, NumWorkers: Math.Max(1, config.Data.NumWorkers), Shuffle: false, Seed: (ulong)config.Data.Seed);
        using (var loader = new DataLoader(dataset, FolderTrainingData.EvalTransformFor(config, imageSize), preprocessing, options))
        {
            var gradCam = new GradCam(model, device);
            foreach (var batch in loader.Epoch(0))
            {
                using var _ = batch;
                var samples = batch.Indices.Select(i => chosen[i]).ToList();
                // The class the test predicted: the map explains the prediction the page shows beside it.
                var heat = gradCam.Compute(batch.Images, [.. samples.Select(s => s.PredictedLabel)]);
                using var rgb = preprocessing.Denormalize(batch.Images).cpu().contiguous();
                var pixels = rgb.data<float>().ToArray();
                var (height, width) = ((int)rgb.shape[2], (int)rgb.shape[3]);
                var plane = 3 * height * width;
                for (var i = 0; i < samples.Count; i++)
                    overlays[samples[i]] = HeatmapOverlay.DataUri(pixels.AsSpan(i * plane, plane), heat[i], width, height);
            }
        }
        GradCamImage Of(SamplePrediction s) => new(s, overlays.GetValueOrDefault(s)); // a file unreadable now: shown as "no image"
        var misclassifiedTotal = pass.Samples.Count(s => !s.IsCorrect);
        log.WriteLine($"Grad-CAM: heatmaps for {wrong.Count} of {misclassifiedTotal} misclassified and {right.Count} correct images ({clock.Elapsed.TotalSeconds:F1} s).");
        return new GradCamGallery([.. wrong.Select(Of)], misclassifiedTotal, [.. right.Select(Of)], pass.Samples.Count - misclassifiedTotal);
    }
}
