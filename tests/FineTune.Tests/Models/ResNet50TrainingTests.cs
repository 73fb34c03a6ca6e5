using FineTune.Models;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Models;

/// <summary>
/// ResNet-50 training steps in this process, in both layouts. On a CPU whose oneDNN dies planning the strided 1x1
/// backward convolution (PLATFORM.md, Machines), this test host would die with SIGFPE unless the kernel check
/// (TestSetup) routed those shapes, and a wrong channels-last kernel would part the two layouts' gradients:
/// it is the detector for both faults.
/// </summary>
public class ResNet50TrainingTests
{
    [Fact]
    public void Resnet50_training_steps_give_the_same_gradients_in_both_layouts()
    {
        var gen = new Generator(11);
        using var model = ModelFactory.Create("resnet50", null, 4);
        // BatchNorm on running statistics (as training.freeze_batchnorm): batch statistics over 4 images make a random
        // ResNet-50 so ill-conditioned that rounding alone parts the layouts' gradients by percents.
        model.eval();
        using var images = randn(4, 3, 64, 64, generator: gen);
        using var labels = tensor(new long[] { 0, 1, 2, 3 });

        Dictionary<string, Tensor> Gradients(bool channelsLast)
        {
            model.zero_grad();
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(ChannelsLast.Input(images, CPU, channelsLast)), labels);
            loss.backward();
            Assert.True(float.IsFinite(loss.item<float>()));
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().contiguous().clone().MoveToOuterDisposeScope());
        }

        var nchw = Gradients(channelsLast: false);
        var nhwc = Gradients(channelsLast: true);
        foreach (var (name, g) in nchw)
        {
            Assert.True(g.isfinite().all().item<bool>(), $"{name}: non-finite gradient");
            // Below the max-pool, ties (windows of ReLU zeros) may send the gradient to another, equally valid, position
            // in each layout: the stem's gradients are both right and differ (measured 0.9%).
            if (name.StartsWith("conv1.", StringComparison.Ordinal) || name.StartsWith("bn1.", StringComparison.Ordinal)) continue;
            var scale = g.abs().max().item<float>();
            var diff = (g - nhwc[name]).abs().max().item<float>();
            Assert.True(diff <= 1e-3 * scale + 1e-7, $"{name}: channels-last gradient off by {diff} of {scale}");
        }

        // And a training-mode step (batch statistics): runs, finite, and the optimiser sees every gradient.
        model.train();
        Gradients(channelsLast: true);
        using var optimizer = optim.SGD(model.parameters(), 1e-4);
        using var before = model.named_parameters().First(p => p.name == "layer4.0.downsample.0.weight").parameter.detach().clone();
        optimizer.step();
        Assert.True((before - model.named_parameters().First(p => p.name == "layer4.0.downsample.0.weight").parameter).abs().max().item<float>() > 0);
    }
}
