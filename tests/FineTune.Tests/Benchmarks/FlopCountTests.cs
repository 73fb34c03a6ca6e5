using FineTune.Benchmarks;
using FineTune.Models;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Benchmarks;

/// <summary>
/// The FLOPs per image that `finetune bench` divides by (issue 21, item 2), counted from the architecture, checked
/// against the model itself (every convolution and linear layer, with the shapes it really produced) and against the
/// multiply-adds torchvision publishes for its weights.
/// </summary>
public class FlopCountTests
{
    [Theory]
    [InlineData("resnet18", 224)]
    [InlineData("resnet34", 160)]
    [InlineData("resnet50", 224)]
    [InlineData("resnet50", 200)] // sizes that do not halve evenly
    [InlineData("resnet101", 96)]
    public void The_count_equals_the_models_own_convolutions_and_classifier(string backbone, int size)
    {
        // Convolutions go through the kernel routes (functional calls, no module hooks), but each is followed by its
        // BatchNorm, whose output has the convolution's shape: bn1 after conv1, downsample.1 after downsample.0.
        using var model = ModelFactory.Create(backbone, 10, TestSetup.Routing);
        model.eval();
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        double counted = 0;
        foreach (var (name, module) in modules)
        {
            if (module is BatchNorm2d bn)
            {
                var conv = (Conv2d)modules[name.EndsWith(".1", StringComparison.Ordinal) ? name[..^1] + "0" : name.Replace("bn", "conv")];
                bn.register_forward_hook((_, input, output) =>
                {
                    counted += 2.0 * conv.in_channels * conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1] * output.shape[2] * output.shape[3];
                    return output;
                });
            }
            else if (module is Linear fc)
                fc.register_forward_hook((_, input, output) => { counted += 2.0 * fc.in_features * fc.out_features; return output; });
        }
        using (enable_grad()) // BatchNorm runs as a layer (evaluation with autograd off folds it into the convolution)
        using (var x = zeros(1, 3, size, size)) model.call(x).Dispose();
        Assert.Equal(counted, FlopCount.Forward(ModelFactory.ArchitectureOf(backbone), size, 10));
    }

    /// <summary>torchvision's published figures for its ImageNet weights ("GFLOPS", which are multiply-adds) at 224 px.</summary>
    [Theory]
    [InlineData("resnet18", 1.81)]
    [InlineData("resnet34", 3.66)]
    [InlineData("resnet50", 4.09)]
    [InlineData("resnet101", 7.80)]
    public void Half_the_count_is_torchvisions_published_multiply_adds(string backbone, double gmacs)
    {
        double ours = FlopCount.Forward(ModelFactory.ArchitectureOf(backbone), 224, 1000) / 2 / 1e9;
        Assert.True(Math.Abs(ours - gmacs) <= 0.005, $"{backbone}: {ours:0.0000} G multiply-adds, torchvision publishes {gmacs}");
    }

    [Fact]
    public void A_training_step_counts_three_forwards() =>
        Assert.Equal(3 * FlopCount.Forward(ModelFactory.ArchitectureOf("resnet18"), 64, 5),
                     FlopCount.PerImage(ModelFactory.ArchitectureOf("resnet18"), 64, 5, BenchmarkMode.Train));
}
