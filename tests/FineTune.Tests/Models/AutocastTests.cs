using FineTune.Models;
using FineTune.Tests.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Models;

/// <summary>
/// bf16 autocast in our ResNet, as torch.autocast('cpu', dtype=torch.bfloat16) does it: bf16 compute, fp32 master weights,
/// fp32 BatchNorm statistics, fp32 logits and gradients.
/// </summary>
public class AutocastTests
{
    static Tensor Images(int seed, int n = 4, int size = 32)
    {
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        return randn([n, 3, size, size], generator: generator);
    }

    [Fact]
    public void A_bf16_forward_computes_in_bf16_and_returns_fp32_logits()
    {
        using var model = Tiny.Model();
        model.eval();
        using var x = Images(1);
        using var _ = no_grad();
        using var fp32 = model.call(x);
        model.Precision = ComputePrecision.Bf16;
        using var bf16 = model.call(x);
        using var features = model.Features(x);

        Assert.Equal(ScalarType.Float32, bf16.dtype);
        Assert.Equal(ScalarType.Float32, features.dtype);
        // It really ran in bf16 (8 significant bits): the logits move, but only by bf16's rounding.
        double diff = (bf16 - fp32).abs().max().item<float>(), scale = fp32.abs().max().item<float>();
        Assert.True(diff > 0, "bf16 logits equal fp32 bit for bit: the convolutions did not run in bf16");
        Assert.True(diff <= 0.05 * scale, $"bf16 logits differ by {diff} (largest logit {scale})");
    }

    [Fact]
    public void Switching_back_to_fp32_gives_the_fp32_result()
    {
        using var model = Tiny.Model();
        model.eval();
        using var x = Images(2);
        using var _ = no_grad();
        using var before = model.call(x);
        model.Precision = ComputePrecision.Bf16;
        using var bf16 = model.call(x);
        model.Precision = ComputePrecision.Fp32;
        using var after = model.call(x);
        // oneDNN may pick another fp32 kernel on a later call, so "the same" is fp32 rounding, far below bf16's.
        double scale = before.abs().max().item<float>();
        double fp32Diff = (after - before).abs().max().item<float>(), bf16Diff = (bf16 - before).abs().max().item<float>();
        Assert.True(fp32Diff <= 1e-5 * scale, $"fp32 after a bf16 forward differs from fp32 before it by {fp32Diff} (largest logit {scale})");
        Assert.True(bf16Diff > 10 * fp32Diff, $"bf16 moved the logits by {bf16Diff}, fp32 by {fp32Diff}");
    }

    [Fact]
    public void A_bf16_training_step_keeps_fp32_parameters_gradients_optimizer_state_and_statistics()
    {
        using var model = Tiny.Model();
        using var reference = Tiny.Model();
        model.Precision = ComputePrecision.Bf16;
        model.train();
        using var x = Images(3);
        using var labels = tensor(new long[] { 0, 1, 2, 3 });
        using var optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
        using (var scope = NewDisposeScope())
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), labels);
            Assert.Equal(ScalarType.Float32, loss.dtype);
            loss.backward();
            foreach (var (name, p) in model.named_parameters())
            {
                Assert.Equal(ScalarType.Float32, p.dtype);
                Assert.True(p.grad is { } g && g.dtype == ScalarType.Float32, $"{name}: no fp32 gradient");
            }
            optimizer.step();
        }
        foreach (var (name, t) in model.state_dict())
            Assert.True(t.dtype is ScalarType.Float32 or ScalarType.Int64, $"{name} is {t.dtype}");
        // The step updated the master weights and the BatchNorm running statistics.
        Assert.True(Tiny.MaxDifference(model, reference) > 0);
        using var runningMean = model.state_dict()["bn1.running_mean"];
        Assert.True(runningMean.abs().sum().item<float>() > 0, "BatchNorm statistics did not move in training");
    }

    [Fact]
    public void Channels_last_bf16_matches_nchw_bf16()
    {
        using var model = Tiny.Model();
        model.eval();
        model.Precision = ComputePrecision.Bf16;
        using var x = Images(4);
        using var _ = no_grad();
        using var nchw = model.call(x);
        using var channelsLast = ChannelsLast.Of(x);
        ChannelsLast.Convert(model);
        using var nhwc = model.call(channelsLast);
        double diff = (nhwc - nchw).abs().max().item<float>(), scale = nchw.abs().max().item<float>();
        Assert.True(diff <= 0.05 * scale, $"channels-last bf16 differs from NCHW bf16 by {diff} (largest logit {scale})");
    }
}
