using FineTune.Models;
using FineTune.Weights;
using FineTune.Tests.Weights;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Models;

/// <summary>
/// Issue 21, item 1: evaluation folds each BatchNorm into the convolution before it. The folded forward (autograd off)
/// must give the unfolded one's logits (the same model in eval mode with autograd on, where the BatchNorms run as
/// layers) within <see cref="Bar"/> of the largest logit, and must really be folded: no BatchNorm layer runs.
/// </summary>
public sealed class BatchNormFoldingTests(BundledWeightsFixture bundled, ITestOutputHelper output) : IClassFixture<BundledWeightsFixture>
{
    /// <summary>
    /// The issue's bar. Folding reorders fp32 arithmetic (w·s summed, instead of the sum times s), so the two differ by
    /// rounding only: measured here up to about 1e-6 of the largest logit (printed by each test).
    /// </summary>
    const double Bar = 1e-5;

    [Fact]
    public void The_pretrained_resnet18_gives_the_same_logits_on_drawn_scenes() =>
        AssertFolded(bundled.Model, Batch(Enumerable.Range(1, 6).Select(seed => ParityImages.Procedural(seed, 224)).ToList(), 224), "drawn scenes");

    [CaltechArchiveFact]
    public void The_pretrained_resnet18_gives_the_same_logits_on_caltech_photographs() =>
        AssertFolded(bundled.Model, Batch(ParityImages.FromCaltech(CaltechArchiveFactAttribute.Archive!, count: 8, 224).Select(i => i.Rgb).ToList(), 224), "Caltech photographs");

    [Theory]
    [InlineData("resnet50", false)]
    [InlineData("resnet50", true)]
    [InlineData("resnet34", true)]
    public void A_resnet_with_trained_batchnorm_statistics_gives_the_same_logits(string backbone, bool channelsLast)
    {
        using var model = TrainedLooking.Model(backbone, seed: 5);
        using var images = rand(4, 3, 96, 96);
        using var input = channelsLast ? ChannelsLast.Of(images) : images.alias();
        if (channelsLast) ChannelsLast.Convert(model);
        AssertFolded(model, input, $"{backbone}{(channelsLast ? " channels-last" : "")}");
    }

    void AssertFolded(ResNet model, Tensor batch, string what)
    {
        int batchNormCalls = 0;
        var hooks = model.modules().OfType<BatchNorm2d>()
            .Select(bn => bn.register_forward_hook((m, input, o) => { batchNormCalls++; return o; })).ToList();
        try
        {
            Tensor unfolded;
            using (enable_grad()) unfolded = model.call(batch).detach();
            int unfoldedCalls = batchNormCalls;
            batchNormCalls = 0;
            Tensor folded;
            using (no_grad()) folded = model.call(batch);
            double diff = (folded - unfolded).abs().max().item<float>(), scale = unfolded.abs().max().item<float>();
            output.WriteLine($"{what}: largest |folded - unfolded| {diff:G3}, largest logit {scale:G4}, relative {diff / scale:G3} (bar {Bar}); BatchNorm layers run: {unfoldedCalls} unfolded, {batchNormCalls} folded");
            Assert.True(unfoldedCalls > 0, "the unfolded forward ran no BatchNorm layer");
            Assert.Equal(0, batchNormCalls);
            Assert.True(diff / scale <= Bar, $"{what}: folded logits differ by {diff / scale:G3} of the largest (bar {Bar})");
        }
        finally { foreach (var h in hooks) h.remove(); }
    }

    Tensor Batch(List<float[]> rgb, int size) =>
        bundled.Weights.Preprocessing.Normalize(tensor(rgb.SelectMany(i => i).ToArray(), [rgb.Count, 3, size, size]));
}
