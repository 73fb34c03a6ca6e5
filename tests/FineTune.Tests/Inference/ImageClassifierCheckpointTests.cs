using FineTune.Config;
using FineTune.Export;
using FineTune.Inference;
using FineTune.Models;
using FineTune.Tests.Export;
using FineTune.Tests.Training;
using FineTune.Tests.Weights;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Inference;

/// <summary>
/// FineTune.Inference against the engine on the checkpoint it was exported from: the bundled ResNet-18 with a seeded
/// 7-class head, exported to ONNX, classified by <see cref="ImageClassifier"/> (ONNX Runtime, no libtorch) and by
/// <see cref="Classifier.Load"/> on the .ckpt (libtorch, fp32). Same decode, same resize, same network: same answers.
/// </summary>
[Collection(RestoresKernelPlan.Collection)]
public sealed class ImageClassifierCheckpointTests(ITestOutputHelper output) : RestoresKernelPlan
{
    const double Tolerance = 1e-4;

    [Fact]
    public void Drawn_jpegs_and_pngs_get_the_checkpoints_answers() =>
        AssertSameAnswers(dir => ExportImages.Write(Path.Combine(dir, "images"), 4));

    [CaltechArchiveFact]
    public void Caltech_photographs_of_any_size_get_the_checkpoints_answers() =>
        AssertSameAnswers(dir => ParityImages.CaltechFiles(CaltechArchiveFactAttribute.Archive!, 20, Path.Combine(dir, "photos")));

    void AssertSameAnswers(Func<string, List<string>> writeImages)
    {
        var dir = Tiny.TempFolder();
        var checkpoint = ExportFixtures.BundledCheckpoint(dir, evalSize: 224);
        var onnx = Path.Combine(dir, "model.onnx");
        ModelExport.Run(checkpoint, onnx, ExportFormat.Onnx, overwrite: false);
        var images = writeImages(dir);

        using var inference = ImageClassifier.Load(onnx);
        using var engine = Classifier.Load(checkpoint, new ClassifierOptions { Precision = PrecisionSetting.Fp32 });
        var expected = engine.Predict(images, topK: ExportFixtures.Classes);
        var actual = inference.Predict(images, topK: ExportFixtures.Classes);

        double worst = 0;
        for (int i = 0; i < images.Count; i++)
        {
            Assert.Null(actual[i].Error);
            Assert.Equal(expected[i].TopK[0].ClassName, actual[i].TopK[0].ClassName);
            var byClass = expected[i].TopK.ToDictionary(p => p.ClassName, p => p.Probability);
            worst = Math.Max(worst, actual[i].TopK.Max(p => Math.Abs(p.Probability - byClass[p.ClassName])));
        }
        output.WriteLine($"{images.Count} images: top-1 equal on all; largest probability difference ImageClassifier (.onnx) vs Classifier (.ckpt, fp32) {worst:G3} (bar {Tolerance})");
        Assert.True(worst <= Tolerance, $"probabilities differ by {worst:G3}");
    }
}
