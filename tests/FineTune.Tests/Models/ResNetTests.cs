using FineTune.Models;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Models;

public class ResNetTests
{
    [Fact]
    public void Resnet18_has_torchvisions_state_dict_names_and_count()
    {
        using var model = ModelFactory.Create("resnet18", 1000, TestSetup.Routing);
        var keys = model.state_dict().Keys.ToList();
        // torchvision resnet18: 62 parameters + 20 BatchNorm layers x 3 buffers = 122 entries.
        Assert.Equal(122, keys.Count);
        foreach (var k in new[] { "conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
                                  "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var", "layer4.1.bn2.bias", "fc.weight", "fc.bias" })
            Assert.Contains(k, keys);
    }

    [Fact]
    public void Resnet50_uses_bottlenecks_with_torchvision_names()
    {
        using var model = ModelFactory.Create("resnet50", 10, TestSetup.Routing);
        var sd = model.state_dict();
        Assert.Equal(new long[] { 256, 64, 1, 1 }, sd["layer1.0.conv3.weight"].shape);
        Assert.Equal(new long[] { 10, 2048 }, sd["fc.weight"].shape);
        Assert.Equal(320, sd.Count); // torchvision resnet50: 161 parameters + 53 BN x 3 buffers
    }

    [Fact]
    public void Any_layer_counts_build_and_run()
    {
        using var model = new ResNet(new ResNetArchitecture(BlockKind.Basic, [2, 2, 2, 3]), 7, TestSetup.Routing);
        model.eval();
        using var x = randn(2, 3, 64, 64);
        using var y = model.call(x);
        Assert.Equal(new long[] { 2, 7 }, y.shape);
        Assert.Contains("layer4.2.conv2.weight", model.state_dict().Keys);
    }

    [Fact]
    public void The_new_head_is_xavier_uniform_with_zero_bias()
    {
        using var model = ModelFactory.Create("resnet18", 101, TestSetup.Routing);
        var w = model.Head.weight!;
        double bound = Math.Sqrt(6.0 / (512 + 101));
        Assert.True(w.abs().max().item<float>() <= bound + 1e-6);
        Assert.True(w.std().item<float>() > bound / 3); // not all zeros: U(-b, b) has std b/sqrt(3)
        Assert.Equal(0f, model.Head.bias!.abs().sum().item<float>());
    }

    [Fact]
    public void Unknown_backbone_names_the_choices()
    {
        var e = Assert.Throws<UnknownBackboneException>(() => ModelFactory.Create("resnet19", 10, TestSetup.Routing));
        Assert.Contains("resnet19", e.Message);
        Assert.Contains("resnet50", e.Message);
    }

    [Fact]
    public void Loading_names_a_tensor_of_the_wrong_shape_and_both_shapes()
    {
        using var model = ModelFactory.Create("resnet18", 10, TestSetup.Routing);
        var sd = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        sd["layer3.0.conv1.weight"] = zeros(256, 128, 5, 5);
        var e = Assert.Throws<WeightsMismatchException>(() => StateDictLoader.Load(model, sd, "my.pth", skipClassifier: false));
        Assert.Contains("layer3.0.conv1.weight", e.Message);
        Assert.Contains("[256, 128, 5, 5]", e.Message);
        Assert.Contains("[256, 128, 3, 3]", e.Message);
    }

    [Fact]
    public void Loading_weights_of_another_architecture_says_so()
    {
        using var r50 = ModelFactory.Create("resnet50", 10, TestSetup.Routing);
        using var r18 = ModelFactory.Create("resnet18", 10, TestSetup.Routing);
        var e = Assert.Throws<WeightsMismatchException>(() => StateDictLoader.Load(r18, r50.state_dict(), "resnet50.pth", skipClassifier: true));
        Assert.Contains("resnet50", e.Message);
        Assert.Contains("Bottleneck", e.Message);
    }

    [Fact]
    public void A_state_dict_round_trips_and_gives_the_same_outputs()
    {
        using var a = ModelFactory.Create("resnet18", 5, TestSetup.Routing);
        using var b = ModelFactory.Create("resnet18", 5, TestSetup.Routing);
        StateDictLoader.Load(b, a.state_dict(), "a", skipClassifier: false);
        a.eval(); b.eval();
        using var x = randn(1, 3, 64, 64);
        using var ya = a.call(x);
        using var yb = b.call(x);
        Assert.True(ya.allclose(yb));
    }

    [Fact]
    public void The_config_accepts_exactly_the_backbones_the_factory_builds() =>
        Assert.Equal(FineTune.Config.ModelConfig.Backbones, ModelFactory.Backbones.Keys);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_convolution_runs_through_the_routing_the_model_was_built_with(bool training)
    {
        var counting = new CountingRouting();
        using var model = new ResNet(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), 3, counting);
        if (training) model.train(); else model.eval();
        using (training ? null : no_grad())
        using (var y = model.call(randn(2, 3, 32, 32))) { }
        // The stem, two per block and the three downsampling shortcuts: training and folded evaluation alike.
        Assert.Equal(model.modules().OfType<TorchSharp.Modules.Conv2d>().Count(), counting.Calls);
    }

    sealed class CountingRouting : KernelRouting
    {
        public int Calls { get; private set; }

        public override Tensor Conv(TorchSharp.Modules.Conv2d conv, Tensor x, Tensor? weight = null, Tensor? bias = null)
        {
            Calls++;
            return base.Conv(conv, x, weight, bias);
        }
    }
}
