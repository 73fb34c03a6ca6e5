using FineTune.Distributed;
using FineTune.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Distributed;

/// <summary>The synchronised path of SyncBatchNorm, run in a world of one, must be BatchNorm2d exactly (up to float rounding).</summary>
public class SyncBatchNormTests
{
    static void Close(Tensor expected, Tensor actual, double tolerance = 1e-5) =>
        Assert.True(allclose(expected, actual, rtol: tolerance, atol: tolerance),
            $"max difference {(expected - actual).abs().max().to(ScalarType.Float64).item<double>()}");

    [Fact]
    public void Synchronised_statistics_of_one_rank_equal_batchnorm_in_training()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var bn = nn.BatchNorm2d(6);
        bn.train();
        using (no_grad()) { bn.weight!.uniform_(0.5, 1.5); bn.bias!.uniform_(-0.5, 0.5); }
        var x1 = (randn(5, 6, 4, 3) * 3 + 1).requires_grad_(true);
        var x2 = x1.detach().clone().requires_grad_(true);
        var w2 = bn.weight!.detach().clone().requires_grad_(true);
        var b2 = bn.bias!.detach().clone().requires_grad_(true);
        var rm = zeros(6); var rv = ones(6); var nbt = zeros(1, ScalarType.Int64).squeeze();
        using var comm = new SingleProcessCommunicator();

        var expected = bn.call(x1);
        var actual = SyncBatchNorm.Normalize(x2, w2, b2, rm, rv, nbt, 0.1, 1e-5, training: true, comm, alwaysSync: true);
        Close(expected, actual);

        var upstream = randn(5, 6, 4, 3);
        (expected * upstream).sum().backward();
        (actual * upstream).sum().backward();
        Close(x1.grad!, x2.grad!, 1e-4);
        Close(bn.weight!.grad!, w2.grad!, 1e-4);
        Close(bn.bias!.grad!, b2.grad!, 1e-4);
        Close(bn.running_mean!, rm);
        Close(bn.running_var!, rv);
        Assert.Equal(1, nbt.item<long>());
    }

    [Fact]
    public void Bf16_input_keeps_fp32_statistics_and_matches_libtorchs_mixed_dtype_batchnorm()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var bn = nn.BatchNorm2d(6);
        bn.train();
        var x = (randn(5, 6, 4, 3) * 3 + 1).to(ScalarType.BFloat16);
        var rm = zeros(6); var rv = ones(6); var nbt = zeros(1, ScalarType.Int64).squeeze();
        using var comm = new SingleProcessCommunicator();

        var expected = bn.call(x); // libtorch: bf16 input, fp32 parameters and statistics
        var actual = SyncBatchNorm.Normalize(x, bn.weight, bn.bias, rm, rv, nbt, 0.1, 1e-5, training: true, comm, alwaysSync: true);
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        Assert.Equal(ScalarType.Float32, rm.dtype);
        Close(expected.to(ScalarType.Float32), actual.to(ScalarType.Float32), 2e-2); // bf16 output rounding
        Close(bn.running_mean!, rm);
        Close(bn.running_var!, rv);
    }

    [Fact]
    public void A_converted_resnet_trains_like_the_original_and_updates_statistics_once()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var plain = new ResNet(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), 4);
        using var converted = new ResNet(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), 4);
        converted.load_state_dict(plain.state_dict());
        plain.train(); converted.train();
        using var comm = new SingleProcessCommunicator();
        using var undo = SyncBatchNorm.Convert(converted, comm);
        var x = randn(4, 3, 32, 32);

        Close(plain.call(x), converted.call(x), 1e-4);
        var a = plain.state_dict(); var b = converted.state_dict();
        foreach (var key in a.Keys.Where(k => k.Contains("running") || k.Contains("num_batches")))
            Close(a[key].to(ScalarType.Float64), b[key].to(ScalarType.Float64));
        Assert.Equal(1, b["bn1.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void The_module_form_has_batchnorm_state_names_and_matches_it()
    {
        using var scope = NewDisposeScope();
        using var comm = new SingleProcessCommunicator();
        var sync = new SyncBatchNorm2d(3, comm);
        var plain = nn.BatchNorm2d(3);
        Assert.Equal(plain.state_dict().Keys.OrderBy(k => k), sync.state_dict().Keys.OrderBy(k => k));
        var x = randn(4, 3, 5, 5);
        Close(plain.call(x), sync.call(x));
        Close(plain.running_var!, sync.running_var);
    }
}
