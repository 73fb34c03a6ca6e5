using System.Text.Json;
using FineTune.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.MpiHost;

/// <summary>
/// SyncBatchNorm over 2 ranks against plain BatchNorm over the whole batch in one process (computed by the test in
/// float64). The input is hard for the statistics: every channel sits near 1000 with a spread of 0.01, and the two
/// ranks' halves have means 0.02 apart, so the variance is tiny against the mean and half of it lies between ranks.
/// The model has both forms: a BatchNorm2d converted by <see cref="SyncBatchNorm.Convert"/> and a <see cref="SyncBatchNorm2d"/>.
/// </summary>
public static class SyncBatchNormCase
{
    public const int Batch = 8, Ranks = 2;

    /// <summary>
    /// bn0 (BatchNorm2d, or converted when <paramref name="comm"/> is given), a channel mix, bn1 (SyncBatchNorm2d with
    /// <paramref name="comm"/>). The mix is a 1x1 layer computed as a matrix product, not a convolution: on an AMD EPYC of
    /// family 26, libtorch's fp32 3x3 3->4 convolution gives a wrong input gradient at batch 4 (2.5 against values of 4.8;
    /// right at batch 8: docs/platform.md), which this test of SyncBatchNorm would otherwise report as its own.
    /// </summary>
    public static (Sequential Model, IDisposable? Undo) Build(Communicator? comm)
    {
        var bn1 = comm is null ? (nn.Module<Tensor, Tensor>)nn.BatchNorm2d(4) : new SyncBatchNorm2d(4, comm);
        var model = nn.Sequential(("bn0", nn.BatchNorm2d(3)), ("mix", new ChannelMix(3, 4)), ("bn1", bn1));
        // Values from a generator of its own, not torch's global one (parallel tests draw from that one).
        var g = new Generator(11);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                p.copy_(name.StartsWith("mix") ? randn(p.shape, generator: g) * 0.3
                    : name.EndsWith("weight") ? linspace(0.5, 1.5, p.shape[0]) : linspace(-0.2, 0.3, p.shape[0]));
        model.train();
        return (model, comm is null ? null : SyncBatchNorm.Convert(model, comm));
    }

    /// <summary>The whole batch [8, 3, 5, 5] float32 and the upstream gradient the loss sum(y * u) gives.</summary>
    public static (Tensor X, Tensor U) Inputs()
    {
        var g = new Generator(12);
        var offset = cat([full(Batch / 2, 1000f), full(Batch / 2, 1000.02f)]).view(Batch, 1, 1, 1);
        var x = randn(Batch, 3, 5, 5, generator: g) * 0.01f + offset;
        var u = randn(Batch, 4, 5, 5, generator: g);
        return (x, u);
    }

    /// <summary>What one rank computed: its rows of y and of dL/dx, its parameter gradients (of its part of the loss), the buffers.</summary>
    public sealed record RankResult(float[] Y, float[] XGrad, Dictionary<string, float[]> Grads, Dictionary<string, double[]> Buffers);

    public static int Run(string outPrefix)
    {
        using var dist = DistributedContext.Create(distributed: true);
        if (dist.WorldSize != Ranks) throw new InvalidOperationException($"run with mpirun -np {Ranks}");
        var (model, undo) = Build(dist.Comm);
        var (x, u) = Inputs();
        int per = Batch / Ranks;
        var mine = x.narrow(0, dist.Rank * per, per).clone().requires_grad_(true);
        var y = model.call(mine);
        (y * u.narrow(0, dist.Rank * per, per)).sum().backward();
        var result = new RankResult(y.detach().data<float>().ToArray(), mine.grad!.data<float>().ToArray(),
            model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray()),
            model.named_buffers().ToDictionary(b => b.name, b => b.buffer.to(ScalarType.Float64).data<double>().ToArray()));
        File.WriteAllText($"{outPrefix}.{dist.Rank}.json", JsonSerializer.Serialize(result));
        undo?.Dispose();
        dist.Finish();
        return 0;
    }
}

/// <summary>y[n, o, h, w] = Σ_c weight[o, c] x[n, c, h, w] + bias[o]: a 1x1 convolution by matrix product (BLAS, not oneDNN).</summary>
sealed class ChannelMix : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight, bias;

    public ChannelMix(long inputs, long outputs) : base(nameof(ChannelMix))
    {
        weight = new Parameter(zeros(outputs, inputs));
        bias = new Parameter(zeros(outputs));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => einsum("oc,nchw->nohw", weight, x) + bias.view(1, -1, 1, 1);
}
