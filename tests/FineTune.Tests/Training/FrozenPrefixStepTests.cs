using FineTune.Models;
using FineTune.Tests.Weights;
using FineTune.Training;
using FineTune.Weights;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>
/// A training step split at the frozen stages (<see cref="TrainingStep.Prefix"/>, then <see cref="TrainingStep.TakeFrom"/>),
/// which the activation cache relies on, computes what the whole network's forward and backward compute: the same
/// logits and the same gradients for every trained parameter, on the pretrained ResNet-18.
/// </summary>
public sealed class FrozenPrefixStepTests(BundledWeightsFixture bundled, ITestOutputHelper output) : IClassFixture<BundledWeightsFixture>
{
    /// <summary>The same kernels on the same values in the same order: equal to the bit, measured; the bar allows a kernel's own blocking choice.</summary>
    const double Bar = 1e-6;

    [Theory]
    [InlineData(2, true)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public void The_step_from_the_frozen_stages_output_matches_the_whole_network_on_drawn_scenes(int frozenStages, bool channelsLast) =>
        AssertSameStep(Batch(Enumerable.Range(1, 6).Select(seed => ParityImages.Procedural(seed, 160)).ToList(), 160), frozenStages, channelsLast, "drawn scenes");

    [CaltechArchiveFact]
    public void The_step_from_the_frozen_stages_output_matches_the_whole_network_on_caltech_photographs() =>
        AssertSameStep(Batch(ParityImages.FromCaltech(CaltechArchiveFactAttribute.Archive!, count: 8, 224).Select(i => i.Rgb).ToList(), 224), 2, true, "Caltech photographs");

    void AssertSameStep(Tensor images, int frozenStages, bool channelsLast, string what)
    {
        using var model = PretrainedModel.Create("resnet18", bundled.Weights, 1000, TestSetup.Routing);
        if (channelsLast) ChannelsLast.Convert(model);
        using var input = channelsLast ? ChannelsLast.Of(images) : images.alias();
        // As the trainer leaves a model with frozen stages: training mode, the frozen part's BatchNorm on its statistics.
        model.train();
        foreach (var part in model.EarlyModules(frozenStages))
        {
            foreach (var module in part.modules().Prepend(part)) if (module is BatchNorm2d) module.eval();
            foreach (var p in part.parameters()) p.requires_grad = false;
        }
        using var labels = tensor(Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)(i * 37 % 1000)).ToArray(), int64);
        var trained = model.parameters().Where(p => p.requires_grad).ToList();

        using var optimizer = optim.SGD(trained, 0.0); // a rate of 0: the step leaves the weights, and its gradients stay to compare
        optimizer.zero_grad();
        using var wholeLogits = model.call(input);
        nn.functional.cross_entropy(wholeLogits, labels).backward();
        var wholeGradients = trained.Select(p => p.grad!.clone()).ToList();

        var step = new TrainingStep(model, optimizer, collective: null, frozenStages: frozenStages);
        Tensor splitLogits;
        using (var prefix = step.Prefix(input))
        {
            Assert.False(prefix.requires_grad);
            Assert.Equal(frozenStages == 1 ? 64 : 128, prefix.shape[1]);
            using (no_grad()) splitLogits = model.Logits(model.Stages(prefix, step.FirstTrainedStage, ResNet.StageCount));
            Assert.NotNull(step.TakeFrom(prefix, labels));
        }

        double logitDiff = (splitLogits - wholeLogits.detach()).abs().max().item<float>(), logitScale = wholeLogits.abs().max().item<float>();
        double gradDiff = 0, gradScale = 0;
        for (int i = 0; i < trained.Count; i++)
        {
            gradDiff = Math.Max(gradDiff, (trained[i].grad! - wholeGradients[i]).abs().max().item<float>());
            gradScale = Math.Max(gradScale, wholeGradients[i].abs().max().item<float>());
        }
        output.WriteLine($"{what}, {frozenStages} frozen stages{(channelsLast ? ", channels-last" : "")}: logits differ by {logitDiff / logitScale:G3} of the largest, " +
                         $"gradients of {trained.Count} trained tensors by {gradDiff / gradScale:G3} of the largest (bar {Bar})");
        Assert.True(gradScale > 0, "no gradient reached the trained stages");
        Assert.True(logitDiff / logitScale <= Bar, $"{what}: logits differ by {logitDiff / logitScale:G3} of the largest");
        Assert.True(gradDiff / gradScale <= Bar, $"{what}: gradients differ by {gradDiff / gradScale:G3} of the largest");
    }

    Tensor Batch(List<float[]> rgb, int size) =>
        bundled.Weights.Preprocessing.Normalize(tensor(rgb.SelectMany(i => i).ToArray(), [rgb.Count, 3, size, size]));
}
