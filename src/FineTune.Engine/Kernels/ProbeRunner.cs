using FineTune.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTune.Kernels;

/// <summary>
/// Runs one probe in this process: the operation as training runs it (batch, layout, precision, route, forward
/// and backward), against float64 NCHW on the same numbers. libtorch computes float64 convolutions with its own
/// im2col + BLAS code, never with oneDNN, so the reference does not share the kernel under test. Every element of
/// the output and of every gradient (data, weight, bias) is compared: a fault may sit in one sample or one kernel.
/// </summary>
public static class ProbeRunner
{
    /// <summary>
    /// Largest difference allowed, relative to the reference's largest magnitude. fp32 kernels agree with float64
    /// to about 1e-6 here (sums of at most a few thousand products); the faults seen were 0.1-0.5. bf16 rounds inputs
    /// to 8 significant bits and outputs again, so its bar is wider, still far below a wrong kernel.
    /// </summary>
    public static double Tolerance(KernelDtype dtype) => dtype == KernelDtype.Fp32 ? 1e-3 : 3e-2;

    /// <summary>One compared tensor: its largest relative difference and how many of its values are NaN or infinite.</summary>
    readonly record struct Difference(string Name, double Error, long NonFinite, long Count)
    {
        public bool Finite => NonFinite == 0 && double.IsFinite(Error);
    }

    public static ProbeResult Run(Probe p, IKernelInterceptor? interceptor = null)
    {
        try
        {
            using var scope = NewDisposeScope();
            var gen = new Generator(1234);
            var differences = p.Shape.Op switch
            {
                ProbeOp.Conv => Conv(p, gen, interceptor),
                ProbeOp.Linear => Linear(p, gen, interceptor),
                _ => Pointwise(p, gen, interceptor),
            };
            // A NaN compares below every number, so the worst is picked by finiteness first, then by size.
            var worst = differences.OrderBy(d => d.Finite).ThenByDescending(d => d.Error).First();
            bool ok = worst.Finite && worst.Error <= Tolerance(p.Dtype);
            var detail = worst.Finite
                ? $"{worst.Name} off by {worst.Error:G3} of its largest value (tolerance {Tolerance(p.Dtype):G2})"
                : $"{worst.Name} has {worst.NonFinite} NaN or infinite value(s) of {worst.Count}";
            return new ProbeResult(p, ok ? ProbeVerdict.Passed : ProbeVerdict.Wrong, worst.Finite ? worst.Error : double.NaN, detail);
        }
        catch (Exception e)
        {
            return new ProbeResult(p, ProbeVerdict.Failed, double.NaN, $"raised {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    static ScalarType Type(KernelDtype d) => d == KernelDtype.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>A leaf tensor in <paramref name="type"/> (and the probe's layout, for activations), and the same numbers as a float64 NCHW leaf.</summary>
    static (Tensor Tested, Tensor Reference) Leaf(Tensor values, Probe p, bool activation, ScalarType? type = null)
    {
        var typed = values.to(type ?? Type(p.Dtype));
        if (activation && p.Layout == Layout.ChannelsLast && typed.dim() == 4) typed = ChannelsLast.Of(typed);
        var reference = typed.detach().to(ScalarType.Float64).contiguous();
        return (typed.detach().requires_grad_(p.Backward), reference.requires_grad_(p.Backward));
    }

    static List<Difference> Conv(Probe p, Generator gen, IKernelInterceptor? interceptor)
    {
        var s = p.Shape;
        var (x, xr) = Leaf(randn(p.Batch, s.Cin, s.H, s.H, generator: gen), p, activation: true);
        // The stem convolves images, which need no gradient: no run computes its backward-data kernel (wrong in bf16 NCHW on a family-26 EPYC).
        if (s.Cin == 3) (x, xr) = (x.requires_grad_(false), xr.requires_grad_(false));
        var (w, wr) = Leaf(randn(s.Cout, s.Cin, s.K, s.K, generator: gen) * Math.Sqrt(2.0 / (s.Cin * s.K * s.K)), p, activation: false);
        var (b, br) = p.Bias ? Leaf(randn(s.Cout, generator: gen), p, activation: false) : ((Tensor?)null, (Tensor?)null);
        var y = ConvRoutes.Run(p.Route, s, x, w, b, interceptor);
        var yr = F.conv2d(xr, wr, br, [s.Stride, s.Stride], [s.Pad, s.Pad]);
        return b is null
            ? Compare(p, gen, y, yr, ("input gradient", x, xr), ("weight gradient", w, wr))
            : Compare(p, gen, y, yr, ("input gradient", x, xr), ("weight gradient", w, wr), ("bias gradient", b, br!));
    }

    static List<Difference> Linear(Probe p, Generator gen, IKernelInterceptor? interceptor)
    {
        var s = p.Shape;
        var (x, xr) = Leaf(randn(p.Batch, s.Cin, generator: gen), p, activation: false);
        var (w, wr) = Leaf(randn(s.Cout, s.Cin, generator: gen) / Math.Sqrt(s.Cin), p, activation: false);
        var (b, br) = Leaf(randn(s.Cout, generator: gen), p, activation: false);
        var y = interceptor.Apply(s, p.Route, x, w, b, (x, w, b) => F.linear(x, w!, b));
        var yr = F.linear(xr, wr, br);
        return Compare(p, gen, y, yr, ("input gradient", x, xr), ("weight gradient", w, wr), ("bias gradient", b, br));
    }

    /// <summary>BatchNorm (batch or running statistics), max-pool and global average pool.</summary>
    static List<Difference> Pointwise(Probe p, Generator gen, IKernelInterceptor? interceptor)
    {
        var s = p.Shape;
        var (x, xr) = Leaf(randn(p.Batch, s.Cin, s.H, s.H, generator: gen), p, activation: true);
        if (s.Op is ProbeOp.BatchNorm or ProbeOp.BatchNormEval)
        {
            // fp32 affine parameters and statistics whatever the input's precision, as mixed precision keeps them.
            var (w, wr) = Leaf(rand(s.Cin, generator: gen) + 0.5, p, activation: false, ScalarType.Float32);
            var (b, br) = Leaf(randn(s.Cin, generator: gen), p, activation: false, ScalarType.Float32);
            var (mean, variance) = (randn(s.Cin, generator: gen) * 0.5, rand(s.Cin, generator: gen) + 0.5);
            bool training = s.Op == ProbeOp.BatchNorm;
            Tensor Stat(Tensor stat, Tensor t) => stat.to(t.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32).clone(); // training updates it
            Tensor Norm(Tensor t, Tensor? weight, Tensor? bias) =>
                F.batch_norm(t, Stat(mean, t), Stat(variance, t), weight, bias, training, momentum: 0.1, eps: 1e-5);
            var y = interceptor.Apply(s, p.Route, x, w, b, Norm);
            return Compare(p, gen, y, Norm(xr, wr, br), ("input gradient", x, xr), ("weight gradient", w, wr), ("bias gradient", b, br));
        }
        Func<Tensor, Tensor> op = s.Op == ProbeOp.MaxPool
            ? t => F.max_pool2d(t, [s.K, s.K], [s.Stride, s.Stride], [s.Pad, s.Pad])
            : t => F.adaptive_avg_pool2d(t, [1, 1]);
        return Compare(p, gen, interceptor.Apply(s, p.Route, x, null, null, (t, _, _) => op(t)), op(xr), ("input gradient", x, xr));
    }

    /// <summary>The output's difference and, for a backward probe, each leaf's gradient difference after the same random output gradient.</summary>
    static List<Difference> Compare(Probe p, Generator gen, Tensor y, Tensor yr, params (string Name, Tensor Tested, Tensor Reference)[] leaves)
    {
        var differences = new List<Difference> { Measure("output", y, yr) };
        if (!p.Backward) return differences;
        var g = randn(yr.shape, dtype: ScalarType.Float64, generator: gen);
        var gradient = g.to(y.dtype);
        y.backward([p.Layout == Layout.ChannelsLast && y.dim() == 4 ? ChannelsLast.Of(gradient) : gradient]); // as a channels-last network hands it back
        yr.backward([g]);
        differences.AddRange(leaves.Where(l => l.Tested.requires_grad).Select(l => Measure(l.Name, l.Tested.grad!, l.Reference.grad!)));
        return differences;
    }

    static Difference Measure(string name, Tensor tested, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var t = tested.detach().to(ScalarType.Float64);
        long nonFinite = t.numel() - isfinite(t).sum().item<long>();
        var scale = reference.detach().abs().max().item<double>();
        var diff = (t - reference.detach()).abs().max().item<double>();
        return new Difference(name, diff / Math.Max(scale, 1e-12), nonFinite, t.numel());
    }
}
