using FineTune.Tests.Weights;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Service;

/// <summary><c>POST /classify</c> answers as `finetune predict` does on the same exported file.</summary>
[Collection(ServiceCollection.Name)]
public sealed class ServiceAnswerTests(ITestOutputHelper output)
{
    /// <summary>Real photographs: one JPEG from each of the first 24 Caltech-101 classes.</summary>
    [CaltechArchiveFact]
    public Task Caltech_photos_get_the_same_top1_as_finetune_predict()
    {
        var folder = TestRunFolder.New("caltech-photos");
        var photos = ParityImages.CaltechJpegs(CaltechArchiveFactAttribute.Archive!, count: 24)
            .Select((photo, i) => TestFiles.Write(folder, $"{i:D2}-{Path.GetFileName(photo.Name)}", photo.Jpeg)).ToList();
        return AssertSameAnswers(photos);
    }

    /// <summary>
    /// Drawn scenes (runs everywhere, without the photo archive): JPEG and PNG at sizes other than the model's, and a
    /// 512 px JPEG, which `finetune predict` decodes at half scale; the service must decode an upload the same way.
    /// </summary>
    [Fact]
    public Task Drawn_scenes_get_the_same_classes_and_probabilities_as_finetune_predict()
    {
        var folder = TestRunFolder.New("service-scenes");
        return AssertSameAnswers([.. ExportImages.Write(folder, 6), ExportImages.WriteSquareJpeg(Path.Combine(folder, "large.jpg"), seed: 7, size: 512)]);
    }

    async Task AssertSameAnswers(List<string> images)
    {
        var expected = ServiceModel.FinetunePredict(images);
        using var service = ServiceProcess.Start("--model", ServiceModel.Onnx);
        using var client = service.Client();
        double worst = 0;
        foreach (var image in images)
        {
            // Half as a form upload, half as the raw body: the two ways in give the same answer.
            var bytes = await File.ReadAllBytesAsync(image);
            var content = images.IndexOf(image) % 2 == 0 ? (HttpContent)ServiceProcess.Form(bytes) : ServiceProcess.Raw(bytes);
            var answer = await ServiceProcess.TopClassesAsync(await client.PostAsync("classify", content));
            var want = expected[image];
            output.WriteLine($"{Path.GetFileName(image)}: service {answer[0].Class} {answer[0].Probability:F4}, finetune predict {want[0].Class} {want[0].Probability:F4}");
            Assert.Equal(want[0].Class, answer[0].Class);
            Assert.Equal(want.Select(w => w.Class), answer.Select(a => a.Class));
            worst = Math.Max(worst, want.Zip(answer, (w, a) => Math.Abs(w.Probability - a.Probability)).Max());
        }
        output.WriteLine($"{images.Count} images, largest probability difference {worst:G3}");
        // Same file, same decoder, same resize, same ONNX Runtime: only the order of float sums may differ.
        Assert.True(worst < 1e-5, $"probabilities differ from finetune predict's by up to {worst:G3}");
    }

    [Fact]
    public async Task Top_k_is_the_query_parameter_and_defaults_to_five()
    {
        var image = await File.ReadAllBytesAsync(ExportImages.Write(TestRunFolder.New("service-topk"), 1)[0]);
        using var service = ServiceProcess.Start("--model", ServiceModel.Onnx);
        using var client = service.Client();
        Assert.Equal(5, (await ServiceProcess.TopClassesAsync(await client.PostAsync("classify", ServiceProcess.Form(image)))).Count);
        Assert.Equal(2, (await ServiceProcess.TopClassesAsync(await client.PostAsync("classify?top=2", ServiceProcess.Form(image)))).Count);
        // More than the model has: every class, as `finetune predict --topk` does.
        var all = await ServiceProcess.TopClassesAsync(await client.PostAsync("classify?top=50", ServiceProcess.Form(image)));
        Assert.Equal(Export.ExportFixtures.ClassNames.Order(), all.Select(a => a.Class).Order());
        Assert.Equal(1.0, all.Sum(a => a.Probability), 1e-5);
    }

    [Fact]
    public void Start_up_without_a_usable_model_ends_with_one_line_that_names_the_fix()
    {
        var none = ServiceProcess.RunToEnd();
        Assert.Equal(2, none.Code);
        Assert.Contains("--model model.onnx", none.Err);

        var missing = ServiceProcess.RunToEnd("--model", "/nonexistent/model.onnx");
        Assert.Equal(2, missing.Code);
        Assert.Contains("'/nonexistent/model.onnx' not found", missing.Err);
        Assert.Contains("finetune export --format onnx", missing.Err);

        var checkpoint = ServiceProcess.RunToEnd("--model", "best.ckpt");
        Assert.Equal(2, checkpoint.Code);
        Assert.Contains("is not an .onnx file", checkpoint.Err);
        Assert.All(new[] { none, missing, checkpoint }, r => Assert.DoesNotContain("   at ", r.Err)); // no stack trace
    }
}
