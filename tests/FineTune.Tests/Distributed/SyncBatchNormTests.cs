using System.Text.Json;
using FineTune.Distributed;
using FineTune.MpiHost;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Distributed;

/// <summary>
/// SyncBatchNorm's synchronised path against plain BatchNorm: in one process (the path forced with alwaysSync), and with
/// 2 real ranks against BatchNorm over their whole batch in float64, on inputs whose variance is tiny against their mean.
/// </summary>
public class SyncBatchNormTests
{
    static void Close(Tensor expected, Tensor actual, double tolerance = 1e-5) =>
        Assert.True(allclose(expected, actual, rtol: tolerance, atol: tolerance),
            $"max difference {(expected - actual).abs().max().to(ScalarType.Float64).item<double>()}");

    /// <summary>Largest |a - b| relative to the largest |b|.</summary>
    static double Relative(Tensor actual, Tensor expected) =>
        (actual.to(ScalarType.Float64) - expected).abs().max().item<double>() / expected.abs().max().item<double>();

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
    public void Statistics_stay_exact_when_the_mean_is_large_against_the_spread()
    {
        // Channels near 1000 with spread 0.01: E[x²]-E[x]² in float32 loses every digit of the variance (1e-4) to rounding.
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var x = randn(6, 3, 4, 4, generator: g) * 0.01f + 1000f;
        var upstream = randn(6, 3, 4, 4, generator: g);
        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        var rm64 = zeros(3, ScalarType.Float64); var rv64 = ones(3, ScalarType.Float64);
        var expected = nn.functional.batch_norm(x64, rm64, rv64, training: true, momentum: 0.1, eps: 1e-5);
        (expected * upstream.to(ScalarType.Float64)).sum().backward();

        var x32 = x.clone().requires_grad_(true);
        var rm = zeros(3); var rv = ones(3);
        using var comm = new SingleProcessCommunicator();
        var actual = SyncBatchNorm.Normalize(x32, null, null, rm, rv, null, 0.1, 1e-5, training: true, comm, alwaysSync: true);
        (actual * upstream).sum().backward();

        Assert.True(Relative(actual, expected) < 1e-4, $"output off by {Relative(actual, expected)} of its range");
        Assert.True(Relative(x32.grad!, x64.grad!) < 1e-3, $"input gradient off by {Relative(x32.grad!, x64.grad!)} of its range");
        Assert.True(Relative(rv, rv64) < 1e-5, $"running variance {rv.to(ScalarType.Float64).data<double>().ToArray()[0]} vs {rv64.data<double>().ToArray()[0]}");
        Assert.True(Relative(rm, rm64) < 1e-6);
    }

    [Fact]
    public void The_module_form_has_batchnorm_state_names()
    {
        using var scope = NewDisposeScope();
        using var comm = new SingleProcessCommunicator();
        Assert.Equal(nn.BatchNorm2d(3).state_dict().Keys.Order(), new SyncBatchNorm2d(3, comm).state_dict().Keys.Order());
    }
}

/// <summary>Two real ranks (tests/FineTune.MpiHost, `syncbn`): each holds half the batch; together they must be BatchNorm over all of it.</summary>
[Collection("mpirun")]
public sealed class SyncBatchNormOverRanksTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("finetune-syncbn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Largest |a - b| relative to the largest |b|, or absolute where b is below 1 (conv.bias's true gradient is 0: BatchNorm follows it).</summary>
    static double Relative(float[] actual, Tensor expected)
    {
        using var a = tensor(actual).to(ScalarType.Float64);
        return (a - expected.reshape(-1)).abs().max().item<double>() / Math.Max(1, expected.abs().max().item<double>());
    }

    static double Relative(double[] actual, Tensor expected)
    {
        using var a = tensor(actual);
        return (a - expected.reshape(-1).to(ScalarType.Float64)).abs().max().item<double>() / Math.Max(1e-12, expected.abs().max().to(ScalarType.Float64).item<double>());
    }

    [MpiFact]
    public void Two_ranks_normalise_like_one_process_over_the_whole_batch()
    {
        var prefix = Path.Combine(_dir, "rank");
        var r = MpiJob.RunHost(SyncBatchNormCase.Ranks, "syncbn", prefix);
        Assert.False(r.TimedOut, r.Output);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}:\n{r.Output}");
        var ranks = Enumerable.Range(0, SyncBatchNormCase.Ranks)
            .Select(k => JsonSerializer.Deserialize<SyncBatchNormCase.RankResult>(File.ReadAllText($"{prefix}.{k}.json"))!).ToArray();

        // The reference: the same model with plain BatchNorm, in float64, over the whole batch in one process.
        using var scope = NewDisposeScope();
        var (model, _) = SyncBatchNormCase.Build(comm: null);
        model.to(ScalarType.Float64);
        var (x, u) = SyncBatchNormCase.Inputs();
        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        var y = model.call(x64);
        (y * u.to(ScalarType.Float64)).sum().backward();

        int per = SyncBatchNormCase.Batch / SyncBatchNormCase.Ranks;
        for (int k = 0; k < ranks.Length; k++)
        {
            var rows = y.detach().narrow(0, k * per, per);
            var gradRows = x64.grad!.narrow(0, k * per, per);
            double outputError = Relative(ranks[k].Y, rows), gradError = Relative(ranks[k].XGrad, gradRows);
            output.WriteLine($"rank {k}: output {outputError:e2}, input gradient {gradError:e2}, "
                             + $"buffers {model.named_buffers().Max(b => Relative(ranks[k].Buffers[b.name], b.buffer)):e2}");
            Assert.True(outputError < 1e-4, $"rank {k}: output off by {outputError}");
            Assert.True(gradError < 1e-3, $"rank {k}: input gradient off by {gradError}");
            foreach (var (name, buffer) in model.named_buffers())
                Assert.True(Relative(ranks[k].Buffers[name], buffer) < 1e-5, $"rank {k}: {name} off by {Relative(ranks[k].Buffers[name], buffer)}");
        }
        // Each rank's parameter gradients are those of its part of the loss: together, the whole loss's.
        foreach (var (name, p) in model.named_parameters())
        {
            var summed = ranks.Select(k => k.Grads[name]).Aggregate((a, b) => a.Zip(b, (s, t) => s + t).ToArray());
            Assert.True(Relative(summed, p.grad!) < 1e-3, $"{name} gradient off by {Relative(summed, p.grad!)}");
        }
    }
}
