using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Distributed;

/// <summary>How an all-reduce combines the ranks' values.</summary>
public enum ReduceOp { Sum, Max }

/// <summary>
/// The collective operations data-parallel training needs, over a group of processes ("ranks").
/// A world of one is a real communicator whose collectives are identities, so the training loop reads
/// the same with one process or many, and a single process never loads MPI.
/// Tensors are reduced in place; a tensor that is not contiguous on the CPU goes through a CPU copy
/// (no CUDA-aware MPI is assumed).
/// </summary>
public abstract class Communicator : IDisposable
{
    public abstract int Rank { get; }
    public abstract int Size { get; }
    /// <summary>The rank among the processes of this machine: selects the device of this rank (--gpu 0,1,2,3).</summary>
    public abstract int LocalRank { get; }
    public bool IsMain => Rank == 0;

    /// <summary>Seconds spent inside collective calls since the start (waiting included).</summary>
    public double CommunicationSeconds { get; protected set; }

    public abstract void Barrier();

    /// <summary>Replaces <paramref name="tensor"/> on every rank with its value on <paramref name="root"/>.</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        if (Size == 1) return;
        WithCpuContiguous(tensor, t => BroadcastBytes(t, root));
    }

    /// <summary>Replaces <paramref name="tensor"/> (float32 or float64) on every rank with <paramref name="op"/> over all ranks.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        if (tensor.dtype != ScalarType.Float32 && tensor.dtype != ScalarType.Float64)
            throw new ArgumentException($"AllReduce supports float32 and float64 tensors; got {tensor.dtype}.");
        if (Size == 1) return;
        WithCpuContiguous(tensor, t => AllReduceCore(t, op));
    }

    /// <summary>Sums (or maxes) a few numbers over all ranks, e.g. loss sums, correct counts, stop flags.</summary>
    public double[] AllReduce(double[] values, ReduceOp op = ReduceOp.Sum)
    {
        if (Size == 1) return (double[])values.Clone();
        using var t = tensor(values, ScalarType.Float64);
        AllReduce(t, op);
        return t.data<double>().ToArray();
    }

    /// <summary>Ends the whole job at once (every rank), with <paramref name="code"/> as exit status.</summary>
    public abstract void Abort(int code);

    public abstract string Describe();

    protected abstract void BroadcastBytes(Tensor cpuContiguous, int root);
    protected abstract void AllReduceCore(Tensor cpuContiguous, ReduceOp op);

    void WithCpuContiguous(Tensor tensor, Action<Tensor> action)
    {
        var watch = Stopwatch.StartNew();
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
        {
            action(tensor);
        }
        else
        {
            using var staging = tensor.detach().to(DeviceType.CPU).contiguous();
            action(staging);
            using (no_grad()) tensor.copy_(staging);
        }
        CommunicationSeconds += watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Leaves the job cleanly (MPI_Finalize); call on every rank after the last collective of a normal run.
    /// Not called from <see cref="Dispose"/> on purpose: MPI_Finalize waits for all ranks, so a rank that
    /// leaves through an exception must exit without it, which makes mpirun end the whole job instead of
    /// letting the other ranks wait forever.
    /// </summary>
    public virtual void Finish() { }

    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>A world of one process: every collective is the identity; no MPI library needed.</summary>
public sealed class SingleProcessCommunicator : Communicator
{
    public override int Rank => 0;
    public override int Size => 1;
    public override int LocalRank => 0;
    public override void Barrier() { }
    public override void Abort(int code) => Environment.Exit(code);
    public override string Describe() => "single process (no MPI)";
    protected override void BroadcastBytes(Tensor cpuContiguous, int root) { }
    protected override void AllReduceCore(Tensor cpuContiguous, ReduceOp op) { }
}
