using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Distributed;

/// <summary>
/// Averages gradients over all ranks after backward, as PyTorch's DistributedDataParallel does:
/// the trainable parameters are grouped, in reverse order of registration (the order in which backward
/// produces their gradients), into buckets of about <see cref="DefaultBucketBytes"/>; each bucket's
/// gradients are copied into one flat buffer, all-reduced with one MPI call, divided by the world size
/// and copied back. Fewer, larger messages amortise MPI's per-call latency.
///
/// Unlike DDP, the all-reduces run after backward rather than overlapping with it (TorchSharp exposes
/// no per-parameter gradient-ready hook); on a CPU cluster the overlap would save at most the
/// communication time reported by <see cref="LastStepSeconds"/>.
/// The buckets are fixed when it is made: after unfreezing layers (head first, then the whole network),
/// make a new one.
/// </summary>
public sealed class GradientAllReducer : IDisposable
{
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    /// <summary>One flat buffer and the parameters whose gradients it carries.</summary>
    public sealed record Bucket(IReadOnlyList<Parameter> Parameters, Tensor Flat)
    {
        public long Bytes => Flat.NumberOfElements * Flat.ElementSize;
    }

    readonly Communicator _comm;
    readonly List<Bucket> _buckets = [];
    readonly ScalarType _dtype;

    public IReadOnlyList<Bucket> Buckets => _buckets;

    /// <summary>Wall seconds of the last <see cref="AllReduce"/> (copies included).</summary>
    public double LastStepSeconds { get; private set; }
    public double TotalSeconds { get; private set; }
    public int Steps { get; private set; }

    /// <param name="parameters">The model's parameters in registration order (e.g. <c>model.parameters()</c>); frozen ones are skipped.</param>
    public GradientAllReducer(Communicator comm, IEnumerable<Parameter> parameters, long bucketBytes = DefaultBucketBytes)
    {
        if (bucketBytes < 1) throw new ArgumentException($"The bucket size must be positive; got {bucketBytes} bytes.");
        _comm = comm;
        var current = new List<Parameter>();
        long currentBytes = 0;
        var trainable = parameters.Where(p => p.requires_grad).Reverse().ToList();
        // float32, or float64 in verification runs (training.precision: fp64); one dtype for all, so buckets are uniform.
        _dtype = trainable.Count > 0 ? trainable[0].dtype : ScalarType.Float32;
        if (_dtype is not (ScalarType.Float32 or ScalarType.Float64) || trainable.Any(p => p.dtype != _dtype))
            throw new ArgumentException($"Gradient all-reduce supports float32 or float64 parameters of one dtype; got {string.Join(", ", trainable.Select(p => p.dtype).Distinct())}.");
        foreach (var p in trainable)
        {
            current.Add(p);
            currentBytes += p.NumberOfElements * p.ElementSize;
            if (currentBytes >= bucketBytes) { Close(current); current = []; currentBytes = 0; }
        }
        if (current.Count > 0) Close(current);
    }

    void Close(List<Parameter> parameters)
    {
        // The flat buffer lives on the CPU: MPI reads host memory (a CUDA-aware MPI or NCCL would not need this).
        // Owned by this object for its lifetime, whatever dispose scope it is created in.
        var flat = zeros(parameters.Sum(p => p.NumberOfElements), _dtype).DetachFromDisposeScope();
        _buckets.Add(new Bucket(parameters, flat));
    }

    /// <summary>Call after <c>loss.backward()</c> and before <c>optimizer.step()</c>, on every rank, every step.</summary>
    public void AllReduce()
    {
        if (_comm.Size == 1) return;
        var watch = Stopwatch.StartNew();
        using (no_grad())
        {
            foreach (var bucket in _buckets)
            {
                using var scope = NewDisposeScope();
                long offset = 0;
                foreach (var p in bucket.Parameters)
                {
                    var n = p.NumberOfElements;
                    var slot = bucket.Flat.narrow(0, offset, n);
                    // A parameter without a gradient this step (unused branch) contributes zeros, as in DDP.
                    if (p.grad is { } g) slot.copy_(g.reshape(-1));
                    else slot.zero_();
                    offset += n;
                }
                _comm.AllReduce(bucket.Flat, ReduceOp.Sum);
                bucket.Flat.div_(_comm.Size);
                offset = 0;
                foreach (var p in bucket.Parameters)
                {
                    var n = p.NumberOfElements;
                    var averaged = bucket.Flat.narrow(0, offset, n).view(p.shape);
                    if (p.grad is { } g) g.copy_(averaged);
                    // Unused here but used on another rank: take the average. Unused everywhere: stay
                    // without a gradient, so the optimiser skips it (no weight decay or momentum step).
                    else if (p.requires_grad && averaged.abs().max().ToDouble() > 0) p.grad = averaged.clone().MoveToOuterDisposeScope();
                    offset += n;
                }
            }
        }
        LastStepSeconds = watch.Elapsed.TotalSeconds;
        TotalSeconds += LastStepSeconds;
        Steps++;
    }

    public void Dispose()
    {
        foreach (var b in _buckets) b.Flat.Dispose();
        _buckets.Clear();
    }
}
