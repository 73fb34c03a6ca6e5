using FineTune.Kernels;
using FineTune.Models;
using FineTune.MpiHost;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Kernels;

/// <summary>The routes around a broken kernel must be the same function: forward and both gradients.</summary>
public class ConvRoutesTests
{
    [Theory]
    [InlineData(1, 2, 0, ConvRoute.Subsample)]
    [InlineData(1, 2, 0, ConvRoute.Matmul)]
    [InlineData(1, 1, 0, ConvRoute.Matmul)]
    [InlineData(1, 2, 0, ConvRoute.Nchw)]
    [InlineData(3, 2, 1, ConvRoute.Nchw)]
    public void A_route_computes_what_the_direct_kernel_does(int k, int stride, int pad, ConvRoute route)
    {
        foreach (var channelsLast in new[] { false, true })
        {
            if (route == ConvRoute.Nchw && !channelsLast) continue;
            var shape = new OpShape(ProbeOp.Conv, 16, 24, k, stride, pad, 10);
            var gen = new Generator(7);
            using var x0 = randn(3, 16, 10, 10, generator: gen);
            using var w0 = randn(24, 16, k, k, generator: gen);
            using var g = randn(3, 24, shape.OutH, shape.OutH, generator: gen);
            var (y1, gx1, gw1) = Run(ConvRoute.Direct, shape, x0, w0, g, channelsLast);
            var (y2, gx2, gw2) = Run(route, shape, x0, w0, g, channelsLast);
            Assert.Equal(y1.shape, y2.shape);
            foreach (var (a, b, what) in new[] { (y1, y2, "output"), (gx1, gx2, "input gradient"), (gw1, gw2, "weight gradient") })
            {
                var diff = (a - b).abs().max().item<float>();
                var scale = a.abs().max().item<float>();
                Assert.True(diff <= 1e-5 * scale, $"{route} {what} ({(channelsLast ? "channels-last" : "nchw")}): off by {diff} of {scale}");
            }
        }
    }

    static (Tensor Y, Tensor Gx, Tensor Gw) Run(ConvRoute route, OpShape shape, Tensor x0, Tensor w0, Tensor g, bool channelsLast)
    {
        var x = (channelsLast ? ChannelsLast.Of(x0) : x0.clone()).requires_grad_(true);
        var w = w0.clone().requires_grad_(true);
        var y = ConvRoutes.Run(route, shape, x, w);
        y.backward([g]);
        return (y.detach().contiguous(), x.grad!.contiguous(), w.grad!.clone());
    }

    /// <summary>Evaluation's folded BatchNorm: a convolution with a bias, forward only, through each route that applies.</summary>
    [Theory]
    [InlineData(1, 2, 0)]
    [InlineData(1, 1, 0)]
    [InlineData(3, 1, 1)]
    public void Every_route_adds_the_bias_as_the_direct_kernel_does(int k, int stride, int pad)
    {
        var shape = new OpShape(ProbeOp.Conv, 16, 24, k, stride, pad, 10);
        using var _ = no_grad();
        using var x0 = randn(3, 16, 10, 10);
        using var w = randn(24, 16, k, k);
        using var b = randn(24) * 3;
        foreach (var channelsLast in new[] { false, true })
        {
            using var x = channelsLast ? ChannelsLast.Of(x0) : x0.alias();
            using var direct = nn.functional.conv2d(x0, w, b, [stride, stride], [pad, pad]);
            var probe = new Probe(shape, 3, channelsLast ? Layout.ChannelsLast : Layout.Nchw, KernelDtype.Fp32, Backward: false, Bias: true);
            foreach (var route in probe.Alternatives()) // not Direct: on a channels-last input that is the kernel under suspicion
            {
                using var y = ConvRoutes.Run(route, shape, x, w, b);
                var diff = (y - direct).abs().max().item<float>();
                Assert.True(diff <= 1e-5 * direct.abs().max().item<float>(), $"{route} ({(channelsLast ? "channels-last" : "nchw")}): off by {diff}");
            }
        }
    }

    [Fact]
    public void A_channels_last_input_keeps_its_layout_through_every_route()
    {
        var shape = new OpShape(ProbeOp.Conv, 8, 16, 1, 2, 0, 8);
        using var x = ChannelsLast.Of(randn(2, 8, 8, 8));
        using var w = randn(16, 8, 1, 1);
        using var bias = randn(16);
        foreach (var route in new[] { ConvRoute.Subsample, ConvRoute.Nchw, ConvRoute.Matmul })
        {
            using var y = ConvRoutes.Run(route, shape, x, w, bias);
            Assert.True(ChannelsLast.Is(y), $"{route} returned another layout");
        }
    }

    [Fact]
    public void Fault_specs_parse_and_bad_ones_are_named()
    {
        var faults = KernelFault.Parse("kind=wrong,cin=256,cout=512,k=1,layout=channels_last; kind=crash,cin=512,stride=2,pass=backward,route=any,isa_above=AVX2,after=3");
        Assert.Equal(2, faults.Count);
        Assert.Equal(FaultKind.Wrong, faults[0].Kind);
        Assert.Equal(Layout.ChannelsLast, faults[0].Layout);
        Assert.False(faults[0].AnyRoute);
        Assert.True(faults[1].InBackward);
        Assert.Equal(("AVX2", 3), (faults[1].IsaAbove, faults[1].After));
        var e = Assert.Throws<ArgumentException>(() => KernelFault.Parse("kind=slow"));
        Assert.Contains("'kind=slow'", e.Message);
    }

    [Fact]
    public void ResNet_shapes_cover_every_convolution_of_the_network()
    {
        // Every conv the model runs, recorded at 64 px, must be among the probed shapes (by kernel shape and input size).
        foreach (var (backbone, block) in new[] { ("resnet18", BlockKind.Basic), ("resnet50", BlockKind.Bottleneck) })
        {
            var probed = ResNetShapes.For(block, 64, 10).Where(s => s.Op == ProbeOp.Conv).ToHashSet();
            using var model = ModelFactory.Create(backbone, 10, TestSetup.Routing);
            var seen = new List<OpShape>();
            foreach (var (name, module) in model.named_modules())
                if (module is TorchSharp.Modules.Conv2d conv)
                    seen.Add(new OpShape(ProbeOp.Conv, (int)conv.in_channels, (int)conv.out_channels, (int)conv.kernel_size[0], (int)conv.stride[0], (int)conv.padding![0], 0));
            foreach (var s in seen)
                Assert.True(probed.Any(p => p with { H = 0 } == s), $"{backbone}: {s} is not probed");
        }
    }
}
