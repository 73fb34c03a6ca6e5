using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Models;

/// <summary>
/// ResNet-50 training steps in this process, in both layouts. On a CPU whose oneDNN dies planning the strided 1x1
/// backward convolution (docs/platform.md, oneDNN faults), this test host would die with SIGFPE unless the kernel check
/// (TestSetup) routed those shapes, and a wrong channels-last kernel would part the two layouts' gradients:
/// it is the detector for both faults.
/// </summary>
public class ResNet50TrainingTests(ITestOutputHelper log)
{
    [Fact]
    public void Resnet50_training_steps_give_the_same_gradients_in_both_layouts()
    {
        var gen = new Generator(11);
        using var model = ModelFactory.Create("resnet50", 4, TestSetup.Routing);
        // BatchNorm on running statistics (as training.freeze_batchnorm): batch statistics over 4 images make a random
        // ResNet-50 so ill-conditioned that rounding alone parts the layouts' gradients by percents.
        model.eval();
        using var images = randn(4, 3, 64, 64, generator: gen);
        using var labels = tensor(new long[] { 0, 1, 2, 3 });

        Dictionary<string, Tensor> Gradients(bool channelsLast)
        {
            model.zero_grad();
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(ChannelsLast.Input(images, CPU, channelsLast, model.Routing)), labels);
            loss.backward();
            Assert.True(float.IsFinite(loss.item<float>()));
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().contiguous().clone().MoveToOuterDisposeScope());
        }

        var nchw = Gradients(channelsLast: false);
        var nhwc = Gradients(channelsLast: true);
        var worst = ("", 0.0);
        foreach (var (name, g) in nchw)
        {
            Assert.True(g.isfinite().all().item<bool>(), $"{name}: non-finite gradient");
            var error = (g - nhwc[name]).norm().item<float>() / Math.Max(g.norm().item<float>(), 1e-12f);
            if (error > worst.Item2) worst = (name, error);
        }
        log.WriteLine($"largest channels-last vs NCHW gradient difference: {worst.Item1}, {worst.Item2:G3} of its norm");
        // Measured by norm, not by the largest element: where a pre-activation lies within rounding of zero, the two
        // layouts' kernels (which add in different orders) may take the two sides of a ReLU, and that one position's
        // gradient then differs by its whole value: up to 3.6% of the largest element and 1.4% of the norm, measured
        // (on float64 against fp32, ResNet-50 at 64-224 px, one and two threads), and it happens or not with the
        // thread count and the CPU. A wrong kernel is off by 0.1-0.5 everywhere it computes.
        Assert.True(worst.Item2 <= 5e-2,
            $"{worst.Item1}: channels-last gradient off by {worst.Item2:G3} of its norm on {CpuInfo.Current.ModelName}, {get_num_threads()} thread(s); {TestSetup.Plan.Summary()}");

        // And a training-mode step (batch statistics): runs, finite, and the optimiser sees every gradient.
        model.train();
        Gradients(channelsLast: true);
        using var optimizer = optim.SGD(model.parameters(), 1e-4);
        using var before = model.named_parameters().First(p => p.name == "layer4.0.downsample.0.weight").parameter.detach().clone();
        optimizer.step();
        Assert.True((before - model.named_parameters().First(p => p.name == "layer4.0.downsample.0.weight").parameter).abs().max().item<float>() > 0);
    }
}
