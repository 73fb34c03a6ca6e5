using FineTune.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTune.Kernels;

/// <summary>
/// Runs one probe in this process: the operation as training runs it (batch, layout, precision, route, forward
/// and backward), against float64 NCHW on the same numbers. libtorch computes float64 convolutions with its own
/// im2col + BLAS code, never with oneDNN, so the reference does not share the kernel under test.
/// </summary>
public static class ProbeRunner
{
    /// <summary>
    /// Largest difference allowed, relative to the reference's largest magnitude. fp32 kernels agree with float64
    /// to about 1e-6 here (sums of at most a few thousand products); the faults seen were 0.1-0.5. bf16 rounds inputs
    /// to 8 significant bits and outputs again, so its bar is wider, still far below a wrong kernel.
    /// </summary>
    public static double Tolerance(KernelDtype dtype) => dtype == KernelDtype.Fp32 ? 1e-3 : 3e-2;

    /// <summary>Samples compared with the reference (the first and the last): convolutions are per sample, so the rest only sets the batch oneDNN plans for.</summary>
    static long[] Checked(int batch) => batch == 1 ? [0] : [0, batch - 1];

    public static ProbeResult Run(Probe p)
    {
        try
        {
            using var scope = NewDisposeScope();
            var gen = new Generator(1234);
            var errors = p.Shape.Op switch
            {
                ProbeOp.Conv => Conv(p, gen),
                ProbeOp.Linear => Linear(p, gen),
                _ => Pointwise(p, gen),
            };
            var (name, error) = errors.MaxBy(e => e.Error);
            bool ok = error <= Tolerance(p.Dtype) && double.IsFinite(error);
            return new ProbeResult(p, ok ? ProbeVerdict.Passed : ProbeVerdict.Wrong, error,
                $"{name} off by {error:G3} of its largest value (tolerance {Tolerance(p.Dtype):G2})");
        }
        catch (Exception e)
        {
            return new ProbeResult(p, ProbeVerdict.Failed, double.NaN, $"raised {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    static ScalarType Type(KernelDtype d) => d == KernelDtype.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>A leaf tensor in the probe's precision and layout, and the same numbers as a float64 NCHW leaf.</summary>
    static (Tensor Tested, Tensor Reference) Leaf(Tensor values, Probe p, bool activation)
    {
        var typed = values.to(Type(p.Dtype));
        if (activation && p.Layout == Layout.ChannelsLast && typed.dim() == 4) typed = ChannelsLast.Of(typed);
        var reference = typed.detach().to(ScalarType.Float64).contiguous();
        return (typed.detach().requires_grad_(p.Backward), reference.requires_grad_(p.Backward));
    }

    static List<(string Name, double Error)> Conv(Probe p, Generator gen)
    {
        var s = p.Shape;
        var (x, xr) = Leaf(randn(p.Batch, s.Cin, s.H, s.H, generator: gen), p, activation: true);
        var (w, wr) = Leaf(randn(s.Cout, s.Cin, s.K, s.K, generator: gen) * Math.Sqrt(2.0 / (s.Cin * s.K * s.K)), p, activation: false);
        var y = ConvRoutes.Run(p.Route, s, x, w);
        var rows = tensor(Checked(p.Batch));
        var yr = F.conv2d(xr.index_select(0, rows), wr, null, [s.Stride, s.Stride], [s.Pad, s.Pad]);
        var errors = new List<(string Name, double Error)> { ("output", Error(y.index_select(0, rows), yr)) };
        if (!p.Backward) return errors;

        // Only the checked samples get a gradient, so the weight gradient of the whole batch is theirs alone.
        var g = zeros(y.shape, dtype: ScalarType.Float64);
        g.index_copy_(0, rows, randn(yr.shape, dtype: ScalarType.Float64, generator: gen));
        var gradient = g.to(y.dtype);
        y.backward([p.Layout == Layout.ChannelsLast ? ChannelsLast.Of(gradient) : gradient]); // as a channels-last network hands it back
        yr.backward([g.index_select(0, rows)]);
        errors.Add(("input gradient", Error(x.grad!.index_select(0, rows), xr.grad!.index_select(0, rows))));
        errors.Add(("weight gradient", Error(w.grad!, wr.grad!)));
        return errors;
    }

    static List<(string Name, double Error)> Linear(Probe p, Generator gen)
    {
        var s = p.Shape;
        var (x, xr) = Leaf(randn(p.Batch, s.Cin, generator: gen), p, activation: false);
        var (w, wr) = Leaf(randn(s.Cout, s.Cin, generator: gen) / Math.Sqrt(s.Cin), p, activation: false);
        var (b, br) = Leaf(randn(s.Cout, generator: gen), p, activation: false);
        var y = F.linear(x, w, b);
        var yr = F.linear(xr, wr, br);
        return Compare(p, gen, y, yr, ("input gradient", x, xr), ("weight gradient", w, wr));
    }

    /// <summary>BatchNorm (training mode, batch statistics), max-pool and global average pool: cheap, so the reference takes the whole batch.</summary>
    static List<(string Name, double Error)> Pointwise(Probe p, Generator gen)
    {
        var s = p.Shape;
        var (x, xr) = Leaf(randn(p.Batch, s.Cin, s.H, s.H, generator: gen), p, activation: true);
        Func<Tensor, Tensor> op = s.Op switch
        {
            ProbeOp.MaxPool => t => F.max_pool2d(t, [s.K, s.K], [s.Stride, s.Stride], [s.Pad, s.Pad]),
            ProbeOp.AvgPool => t => F.adaptive_avg_pool2d(t, [1, 1]),
            _ => BatchNorm(s.Cin, gen),
        };
        var y = op(x);
        var yr = op(xr);
        return Compare(p, gen, y, yr, ("input gradient", x, xr));
    }

    /// <summary>The output's error and, for a backward probe, each leaf's gradient error after the same random output gradient.</summary>
    static List<(string Name, double Error)> Compare(Probe p, Generator gen, Tensor y, Tensor yr, params (string Name, Tensor Tested, Tensor Reference)[] leaves)
    {
        var errors = new List<(string Name, double Error)> { ("output", Error(y, yr)) };
        if (!p.Backward) return errors;
        var g = randn(yr.shape, dtype: ScalarType.Float64, generator: gen);
        y.backward([g.to(y.dtype)]);
        yr.backward([g]);
        errors.AddRange(leaves.Select(l => (l.Name, Error(l.Tested.grad!, l.Reference.grad!))));
        return errors;
    }

    /// <summary>BatchNorm with fp32 affine parameters whatever the input's precision, as mixed precision keeps them.</summary>
    static Func<Tensor, Tensor> BatchNorm(int channels, Generator gen)
    {
        var weight = rand(channels, generator: gen) + 0.5;
        var bias = randn(channels, generator: gen);
        return t =>
        {
            var (w, b) = t.dtype == ScalarType.Float64 ? (weight.to(ScalarType.Float64), bias.to(ScalarType.Float64)) : (weight, bias);
            var mean = zeros(channels, dtype: w.dtype);
            var variance = ones(channels, dtype: w.dtype);
            return F.batch_norm(t, mean, variance, w, b, training: true, momentum: 0.1, eps: 1e-5);
        };
    }

    static double Error(Tensor tested, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var t = tested.detach().to(ScalarType.Float64);
        var scale = reference.detach().abs().max().item<double>();
        var diff = (t - reference.detach()).abs().max().item<double>();
        return diff / Math.Max(scale, 1e-12);
    }
}
