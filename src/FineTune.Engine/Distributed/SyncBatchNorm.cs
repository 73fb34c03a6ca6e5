using FineTune.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Distributed;

/// <summary>
/// Synchronised batch normalisation: in training mode the per-channel mean and variance are those of
/// the global batch (all ranks together), not of this rank's shard, so N ranks x batch b normalise like
/// one process with batch N·b. Each BatchNorm layer costs one small all-reduce forward (every rank's per-channel
/// count, mean and centred sum of squares) and one backward (their gradients). In eval mode it is plain BatchNorm.
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>
    /// Makes every BatchNorm2d of <paramref name="model"/> synchronised, keeping its parameters, buffers
    /// and state-dict names. Dispose the result to restore per-rank BatchNorm.
    ///
    /// Why hooks and not module replacement (PyTorch's convert_sync_batchnorm): a TorchSharp model calls
    /// its layers through typed fields (ResNet's bn1 is a BatchNorm2d field, and BatchNorm2d is sealed), so
    /// swapping the registered submodule would not change what forward calls. Instead a pre-hook runs the
    /// layer's own forward in eval mode (no statistics update, output discarded) and a post-hook returns the
    /// synchronised result computed from the same input with the layer's own weight, bias and running
    /// statistics. The discarded pass costs one extra elementwise sweep per layer.
    /// </summary>
    public static IDisposable Convert(nn.Module model, Communicator comm)
    {
        var removers = new List<Action>();
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not BatchNorm2d bn) continue;
            bool inTraining = false;
            var pre = bn.register_forward_pre_hook((m, input) =>
            {
                inTraining = m.training;
                if (inTraining) m.train(false);
                return input;
            });
            var post = bn.register_forward_hook((m, input, output) =>
            {
                if (!inTraining) return output;
                m.train(true);
                inTraining = false;
                output.Dispose();
                return Normalize(input, bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.num_batches_tracked,
                                 bn.momentum, bn.eps, training: true, comm);
            });
            removers.Add(pre.remove);
            removers.Add(post.remove);
        }
        return new Undo(removers);
    }

    sealed class Undo(List<Action> removers) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in removers) r();
            removers.Clear();
        }
    }

    /// <summary>
    /// Batch normalisation of [N, C, ...] input with statistics over the global batch when
    /// <paramref name="training"/>; <paramref name="alwaysSync"/> takes the synchronised path even for a
    /// world of one (for tests: it must then equal plain BatchNorm).
    /// </summary>
    public static Tensor Normalize(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
                                   Tensor? numBatchesTracked, double? momentum, double eps, bool training,
                                   Communicator comm, bool alwaysSync = false)
    {
        // BatchNorm's rule: momentum null means a cumulative average over the batches seen so far.
        double factor = momentum ?? 0.0;
        if (training && numBatchesTracked is not null)
        {
            using (no_grad()) numBatchesTracked.add_(Scalars.One, Scalars.One);
            if (momentum is null) factor = 1.0 / numBatchesTracked.item<long>();
        }
        if (!training || (comm.Size == 1 && !alwaysSync))
            return nn.functional.batch_norm(x, runningMean, runningVar, weight, bias, training, factor, eps);

        using var scope = NewDisposeScope();
        // Under bf16 autocast the statistics are still summed and kept in fp32 (as libtorch's mixed-dtype BatchNorm does);
        // the output returns in the input's dtype. float64 (verification runs) stays float64.
        var inputDtype = x.dtype;
        if (inputDtype != ScalarType.Float32 && inputDtype != ScalarType.Float64) x = x.to(ScalarType.Float32);
        long channels = x.shape[1];
        var dims = Enumerable.Range(0, (int)x.dim()).Where(d => d != 1).Select(d => (long)d).ToArray();
        var shape = Enumerable.Range(0, (int)x.dim()).Select(d => d == 1 ? channels : 1L).ToArray();
        // Shifted data: subtracting one value of each channel (this rank's first) keeps the sums that follow small,
        // so float32 loses nothing to a large mean; the shift is a constant for autograd.
        var shift = x.detach();
        foreach (var d in dims) shift = shift.narrow(d, 0, 1);
        // Every add passes its alpha, and eps is held, as Scalars that outlive the call (Native/Scalars.cs); sub takes none.
        using var epsilon = eps.ToScalar();
        var xs = x.sub(shift);
        var (mean, variance, n) = GlobalMeanAndVariance(xs, shift.reshape(channels).to(ScalarType.Float64), dims, shape, comm);
        var shiftedMean = mean.sub(shift.reshape(channels).to(ScalarType.Float64)).to(x.dtype);
        var y = xs.sub(shiftedMean.view(shape)) * variance.add(epsilon, Scalars.One).rsqrt().to(x.dtype).view(shape);
        if (weight is not null) y = y * weight.view(shape);
        if (bias is not null) y = y.add(bias.view(shape), Scalars.One);
        if (runningMean is not null && runningVar is not null)
        {
            using (no_grad())
            {
                // Scalars held to the end of the block (Native/Scalars.cs says why).
                using var keep = (1 - factor).ToScalar();
                using var take = factor.ToScalar();
                // The running variance is unbiased, as in BatchNorm.
                using var takeUnbiased = (factor * n / Math.Max(n - 1, 1)).ToScalar();
                runningMean.mul_(keep).add_(mean.detach(), take);
                runningVar.mul_(keep).add_(variance.detach(), takeUnbiased);
            }
        }
        return (y.dtype == inputDtype ? y : y.to(inputDtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-channel mean and (biased) variance of the global batch, in float64, and its sample count, from this rank's
    /// <paramref name="xs"/> = x - <paramref name="shift"/>.
    /// Why not E[x²]-E[x]² (the earlier form): in float32 that difference cancels catastrophically when the mean is
    /// large against the spread (channels around 1000 with spread 0.01 gave variances off by orders of magnitude, or
    /// negative, then NaN). Instead each rank centres its own shard (mean and M2 = Σ(x - mean)²), every rank's
    /// (count, mean, M2) becomes one row of a small float64 table (a sum all-reduce of rows that are zero but this
    /// rank's), and the rows are combined by Chan et al.'s formula M2 = Σ M2_r + Σ n_r (mean_r - mean)², in float64.
    /// Autograd runs through all of it: the all-reduce's backward sums the gradients of every rank's loss.
    /// </summary>
    static (Tensor Mean, Tensor Variance, double Count) GlobalMeanAndVariance(Tensor xs, Tensor shift, long[] dims, long[] shape, Communicator comm)
    {
        long channels = xs.shape[1];
        double localCount = xs.NumberOfElements / (double)channels;
        var localMean = xs.mean(dims);
        var localM2 = xs.sub(localMean.view(shape)).square().sum(dims);
        var row = cat([tensor(new[] { localCount }, ScalarType.Float64, xs.device), shift.add(localMean.to(ScalarType.Float64), Scalars.One), localM2.to(ScalarType.Float64)]);
        var table = stack(Enumerable.Range(0, comm.Size).Select(r => r == comm.Rank ? row : zeros_like(row)).ToArray());
        var all = AllReduceSumFunction.apply(table, comm);
        var counts = all.select(1, 0).unsqueeze(1);
        var means = all.narrow(1, 1, channels);
        var m2s = all.narrow(1, 1 + channels, channels);
        double n = counts.sum().item<double>();
        using var count = n.ToScalar();
        var mean = (counts * means).sum(0L).div_(count);
        var m2 = m2s.sum(0L).add_((counts * means.sub(mean).square()).sum(0L), Scalars.One);
        return (mean, m2.div_(count), n);
    }
}

/// <summary>
/// An all-reduce (sum) that autograd can differentiate: forward sums a tensor over the ranks; backward
/// sums the incoming gradients over the ranks, since every rank's loss depends on every rank's input.
/// </summary>
sealed class AllReduceSumFunction : autograd.SingleTensorFunction<AllReduceSumFunction>
{
    public override string Name => "AllReduceSum";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var comm = (Communicator)vars[1];
        ctx.save_data("comm", comm);
        var y = x.clone();
        comm.AllReduce(y, ReduceOp.Sum);
        return y;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var comm = (Communicator)ctx.get_data("comm");
        var g = gradOutput.contiguous().clone();
        comm.AllReduce(g, ReduceOp.Sum);
        return [g, null!];
    }
}

/// <summary>
/// A BatchNorm2d whose training statistics span all ranks, for models built with it directly
/// (same parameter and buffer names as BatchNorm2d, so state dicts interchange).
/// </summary>
public sealed class SyncBatchNorm2d : nn.Module<Tensor, Tensor>
{
    readonly Communicator _comm;
    public Parameter weight, bias;
    public Tensor running_mean, running_var, num_batches_tracked;
    public double Eps { get; }
    public double? Momentum { get; }

    public SyncBatchNorm2d(long numFeatures, Communicator comm, double eps = 1e-5, double? momentum = 0.1) : base("SyncBatchNorm2d")
    {
        _comm = comm;
        Eps = eps;
        Momentum = momentum;
        weight = new Parameter(ones(numFeatures));
        bias = new Parameter(zeros(numFeatures));
        running_mean = zeros(numFeatures);
        running_var = ones(numFeatures);
        num_batches_tracked = zeros(1, ScalarType.Int64).squeeze();
        register_parameter("weight", weight);
        register_parameter("bias", bias);
        register_buffer("running_mean", running_mean);
        register_buffer("running_var", running_var);
        register_buffer("num_batches_tracked", num_batches_tracked);
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4) throw new ArgumentException($"SyncBatchNorm2d expects [N, C, H, W] input; got {input.dim()} dimensions.");
        return SyncBatchNorm.Normalize(input, weight, bias, running_mean, running_var, num_batches_tracked, Momentum, Eps, training, _comm);
    }
}
