using FineTune.Data;
using FineTune.Export;
using FineTune.Inference;
using FineTune.Prediction;
using FineTune.Tests.Data;
using FineTune.Tests.Export;
using FineTune.Tests.Training;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Inference;

/// <summary>
/// FineTune.Inference's <see cref="ImageClassifier"/> on a real exported file (a torchvision-layout ResNet-18 with seeded
/// weights, centre crop at 96 px): a file, its bytes as a stream and a batch give one answer; one instance serves many
/// threads; a bad image is refused with the decoder's reason.
/// </summary>
public sealed class ImageClassifierTests
{
    /// <summary>One export for the whole class: the model does not change between tests.</summary>
    static readonly Lazy<(string Onnx, List<string> Images)> Model = new(() =>
    {
        var dir = Tiny.TempFolder();
        var onnx = Path.Combine(dir, "model.onnx");
        ModelExport.Run(ExportFixtures.TorchvisionCheckpoint(dir, evalSize: 96), onnx, ExportFormat.Onnx, overwrite: false);
        // JPEGs and PNGs larger than 96 px (the JPEGs decode at a reduced scale), and one smaller (an enlargement).
        var images = ExportImages.Write(Path.Combine(dir, "images"), 4);
        images.Add(TestFiles.Write(dir, "small.jpg", TestFiles.Encode(50, 40, SKColors.Orange, SKColors.Teal)));
        return (onnx, images);
    });

    static double[] Probabilities(IReadOnlyList<ClassProbability> top) => [.. top.Select(p => p.Probability)];

    [Fact]
    public void A_file_its_stream_its_batch_and_Classifier_Load_give_the_same_answer()
    {
        var (onnx, images) = Model.Value;
        using var classifier = ImageClassifier.Load(onnx, batchSize: 2);
        using var engine = Classifier.Load(onnx);
        Assert.Equal(ExportFixtures.ClassNames, classifier.ClassNames);
        Assert.Equal(96, classifier.InputSize);
        Assert.Equal(onnx, classifier.ModelPath);

        var batch = classifier.Predict(images, topK: 7);
        var throughEngine = engine.Predict(images, topK: 7);
        for (int i = 0; i < images.Count; i++)
        {
            Assert.Null(batch[i].Error);
            var file = classifier.Predict(images[i], topK: 7);
            using var stream = File.OpenRead(images[i]);
            var fromStream = classifier.Predict(stream, topK: 7);
            Assert.Equal(Probabilities(file), Probabilities(batch[i].TopK));
            Assert.Equal(Probabilities(file), Probabilities(fromStream));
            Assert.Equal(Probabilities(file), Probabilities(throughEngine[i].TopK));
            Assert.Equal(file.Select(p => p.ClassName), fromStream.Select(p => p.ClassName));
            Assert.InRange(file.Sum(p => p.Probability), 0.999, 1.001);
        }
    }

    [Fact]
    public void One_instance_answers_eight_threads_at_once_exactly_as_it_answers_one()
    {
        var (onnx, images) = Model.Value;
        using var classifier = ImageClassifier.Load(onnx);
        var expected = images.Select(path => Probabilities(classifier.Predict(path, topK: 7))).ToList();
        var bytes = images.Select(File.ReadAllBytes).ToList();

        // Every thread mixes the three doors (stream, file, batch) so they run against each other on the one session.
        var answers = new List<double[]>[8];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var mine = new List<double[]>();
            for (int round = 0; round < 5; round++)
                for (int i = 0; i < images.Count; i++)
                {
                    int k = (t + round + i) % images.Count;
                    mine.Add(((t + i) % 3) switch
                    {
                        0 => Probabilities(classifier.Predict(new MemoryStream(bytes[k]), topK: 7)),
                        1 => Probabilities(classifier.Predict(images[k], topK: 7)),
                        _ => Probabilities(classifier.Predict([images[k]], topK: 7)[0].TopK),
                    });
                }
            answers[t] = mine;
        });

        for (int t = 0; t < 8; t++)
            for (int round = 0, n = 0; round < 5; round++)
                for (int i = 0; i < images.Count; i++, n++)
                    Assert.Equal(expected[(t + round + i) % images.Count], answers[t][n]);
    }

    [Theory]
    [InlineData("zero", "empty file (0 bytes)")]
    [InlineData("text", "not an image")]
    [InlineData("truncated", "truncated")]
    [InlineData("bomb", "30000x30000 pixels is above the limit of 89,478,485 pixels (decompression bomb?)")]
    public void A_bad_image_is_refused_with_the_decoders_reason(string kind, string reason)
    {
        var (onnx, images) = Model.Value;
        using var classifier = ImageClassifier.Load(onnx);
        var bad = kind == "bomb" ? ImageDecoderTests.PngBomb(30000, 30000) : ImageDecoderTests.Broken(kind);

        var e = Assert.Throws<ImageDecodeException>(() => classifier.Predict(new MemoryStream(bad)));
        Assert.Contains(reason, e.Message);

        var path = TestFiles.Write(Tiny.TempFolder(), $"{kind}.png", bad);
        var fromFile = Assert.Throws<ImageDecodeException>(() => classifier.Predict(path));
        Assert.Contains(path, fromFile.Message);
        Assert.Contains(reason, fromFile.Message);

        // In a batch the bad file gets its reason and the good one its answer.
        var batch = classifier.Predict([path, images[0]]);
        Assert.Contains(reason, batch[0].Error);
        Assert.Empty(batch[0].TopK);
        Assert.Null(batch[1].Error);
        Assert.Equal(5, batch[1].TopK.Count);
    }

    [Fact]
    public void A_missing_model_file_and_a_file_that_is_not_onnx_each_name_the_file_and_the_fix()
    {
        var dir = Tiny.TempFolder();
        var missing = Path.Combine(dir, "nowhere.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => ImageClassifier.Load(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("finetune export --format onnx", e.Message);

        var notOnnx = TestFiles.Write(dir, "text.onnx", "not a model"u8.ToArray());
        var bad = Assert.Throws<InvalidDataException>(() => ImageClassifier.Load(notOnnx));
        Assert.Contains(notOnnx, bad.Message);
        Assert.Contains("export it again", bad.Message);
    }
}
