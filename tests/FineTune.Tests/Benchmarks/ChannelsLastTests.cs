using FineTune.Models;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Benchmarks;

public class ChannelsLastTests
{
    [Fact]
    public void A_channels_last_copy_keeps_shape_and_values_with_NHWC_strides()
    {
        using var x = randn(2, 3, 5, 7);
        using var y = ChannelsLast.Of(x);
        Assert.Equal(x.shape, y.shape);
        Assert.Equal(new long[] { 105, 1, 21, 3 }, y.stride());
        Assert.True(ChannelsLast.Is(y));
        Assert.False(ChannelsLast.Is(x));
        Assert.True(x.eq(y).all().item<bool>());
        using var kernel = randn(8, 4, 1, 1);
        Assert.True(ChannelsLast.Is(kernel)); // size-1 dimensions do not count, as in PyTorch
    }

    [Fact]
    public void A_converted_resnet_computes_the_same_logits()
    {
        manual_seed(3);
        using var model = ModelFactory.Create("resnet18", 10, TestSetup.Routing);
        model.eval();
        using var x = randn(2, 3, 64, 64);
        using var expected = model.call(x);

        ChannelsLast.Convert(model);
        Assert.All(model.parameters().Where(p => p.dim() == 4), p => Assert.True(ChannelsLast.Is(p)));
        using var xl = ChannelsLast.Of(x);
        using var actual = model.call(xl);
        var largest = expected.abs().max().item<float>();
        var diff = (actual - expected).abs().max().item<float>();
        Assert.True(diff <= 1e-4 * largest, $"largest difference {diff} against logits up to {largest}");
    }
}
