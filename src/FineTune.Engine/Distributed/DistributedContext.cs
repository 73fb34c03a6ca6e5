using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Distributed;

/// <summary>
/// Everything a training loop needs to run data-parallel, in the spirit of torchvision's
/// init_distributed_mode / reduce_across_processes: who am I, start from identical weights, average
/// gradients, add up metrics, stop together, check that the ranks still agree. With one process all of
/// it is the identity and no MPI library is loaded.
/// </summary>
public sealed class DistributedContext : IDisposable, FineTune.Training.ITrainingCollective
{
    public Communicator Comm { get; }
    public int Rank => Comm.Rank;
    public int WorldSize => Comm.Size;
    public int LocalRank => Comm.LocalRank;
    /// <summary>Only the main rank prints progress, writes TensorBoard and checkpoints.</summary>
    public bool IsMain => Comm.IsMain;
    public bool IsDistributed => Comm.Size > 1;

    DistributedContext(Communicator comm) => Comm = comm;

    /// <summary>A world of one process, without MPI.</summary>
    public static DistributedContext SingleProcess() => new(new SingleProcessCommunicator());

    /// <summary>
    /// Joins the MPI job this process was started in when <paramref name="distributed"/> is set
    /// (`mpirun -np N finetune ... --distributed`); one process otherwise. Refuses the two mistakes
    /// that would silently train N independent copies or ask for MPI where there is no launcher.
    /// </summary>
    public static DistributedContext Create(bool distributed) => Create(distributed, LaunchInfo.FromEnvironment());

    /// <summary><see cref="Create(bool)"/> for a given launch (null: no launcher).</summary>
    public static DistributedContext Create(bool distributed, LaunchInfo? launch)
    {
        if (!distributed)
        {
            if (launch is { Size: > 1 })
                throw new DistributedException(
                    $"This process was started by {launch.Launcher} as rank {launch.Rank} of {launch.Size}, but without --distributed: add --distributed so the ranks train one model together (or run without mpirun).");
            return SingleProcess();
        }
        if (launch is null) return SingleProcess(); // `finetune train --distributed` alone: a world of one
        return new DistributedContext(MpiCommunicator.Initialize(launch.LocalRank));
    }

    /// <summary>
    /// The device of this rank for the seed's `--gpu 0,1,2,3`: one rank per listed device, the rank's local
    /// rank on its machine (OMPI_COMM_WORLD_LOCAL_RANK) picking the entry. Null or empty means the CPU.
    /// </summary>
    public Device SelectDevice(string? gpu) =>
        string.IsNullOrWhiteSpace(gpu) ? CPU : FineTune.Native.TorchNative.SelectDevice(DeviceFor(gpu, LocalRank).ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The entry of the --gpu list that local rank <paramref name="localRank"/> uses.</summary>
    public static int DeviceFor(string gpu, int localRank)
    {
        var devices = gpu.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => int.TryParse(d, out var i) && i >= 0 ? i : throw new DistributedException($"--gpu expects device numbers such as 0 or 0,1,2,3; got '{gpu}'."))
            .ToList();
        if (devices.Count == 0) throw new DistributedException($"--gpu expects device numbers such as 0 or 0,1,2,3; got '{gpu}'.");
        if (localRank >= devices.Count)
            throw new DistributedException(
                $"Local rank {localRank} has no device in --gpu {gpu}: start at most {devices.Count} rank(s) per machine (mpirun --npernode {devices.Count}) or list more devices.");
        return devices[localRank];
    }

    /// <summary>Rank 0's <paramref name="text"/> on every rank (what the others pass is ignored): a length, then the UTF-8 bytes.</summary>
    public string BroadcastText(string text)
    {
        if (!IsDistributed) return text;
        var bytes = IsMain ? System.Text.Encoding.UTF8.GetBytes(text) : [];
        using var length = tensor(new long[] { bytes.LongLength });
        Comm.Broadcast(length, 0);
        using var data = IsMain ? tensor(bytes) : zeros(length.item<long>(), ScalarType.Byte);
        Comm.Broadcast(data, 0);
        return System.Text.Encoding.UTF8.GetString(data.data<byte>().ToArray());
    }

    /// <summary>Copies every parameter and buffer of rank 0 to all ranks, so training starts from identical weights.</summary>
    public void BroadcastState(nn.Module model)
    {
        if (!IsDistributed) return;
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (_, t) in model.state_dict())
                Comm.Broadcast(t, 0);
    }

    public void SyncBuffers(nn.Module model)
    {
        if (!IsDistributed) return;
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (_, t) in model.named_buffers())
                Comm.Broadcast(t, 0);
    }

    GradientAllReducer? _reducer;
    IntPtr[] _reducerParameters = [];

    /// <summary>
    /// Averages the gradients of <paramref name="parameters"/> over all ranks (call after backward, on every
    /// rank, every step). The shape of the training loop's collective seam: the buckets are built on first
    /// use and rebuilt when the set of trainable parameters changes (e.g. after unfreezing the backbone).
    /// </summary>
    public void AverageGradients(IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        if (!IsDistributed) return;
        var list = parameters.ToList();
        var trainable = list.Where(p => p.requires_grad).Select(p => p.Handle).ToArray();
        if (_reducer is null || !trainable.SequenceEqual(_reducerParameters))
        {
            _reducer?.Dispose();
            _reducer = new GradientAllReducer(Comm, list);
            _reducerParameters = trainable;
        }
        _reducer.AllReduce();
    }

    /// <summary>Wall seconds of the last <see cref="AverageGradients"/> (0 before the first or with one process).</summary>
    public double LastAverageSeconds => _reducer?.LastStepSeconds ?? 0;

    /// <summary>The buckets the last <see cref="AverageGradients"/> sent (0 before the first or with one process).</summary>
    public int GradientBuckets => _reducer?.Buckets.Count ?? 0;

    /// <summary>Element-wise sum over all ranks (the seam's name for <see cref="SumOverRanks"/>).</summary>
    public double[] Sum(double[] values) => SumOverRanks(values);

    /// <summary>Adds up per-rank sums (loss sum, correct count, sample count) over all ranks, in one call.</summary>
    public double[] SumOverRanks(params double[] values) => Comm.AllReduce(values, ReduceOp.Sum);

    /// <summary>
    /// True on every rank when any rank wants to stop (its early stopping fired, or its cancellation token was
    /// cancelled, e.g. by Ctrl-C or SIGUSR1): call once per step or epoch on all ranks, and stop when it says so.
    /// </summary>
    public bool AnyRank(bool flag) => ShouldStop(flag);

    public bool ShouldStop(bool thisRankWantsToStop = false)
    {
        var local = thisRankWantsToStop ? 1.0 : 0.0;
        return Comm.AllReduce([local], ReduceOp.Max)[0] > 0;
    }

    /// <summary>
    /// The largest |p - p_rank0| over all parameters and buffers and all ranks: 0 when the ranks hold
    /// identical models (the invariant of data-parallel training).
    /// </summary>
    public double MaxDifferenceFromRank0(nn.Module model)
    {
        if (!IsDistributed) return 0;
        using var scope = NewDisposeScope();
        double worst = 0;
        using (no_grad())
        {
            foreach (var (_, t) in model.state_dict())
            {
                var mine = t.detach().to(ScalarType.Float64, copy: true);
                var reference = mine.clone();
                Comm.Broadcast(reference, 0);
                worst = Math.Max(worst, mine.sub_(reference).abs_().max().item<double>());
            }
        }
        return Comm.AllReduce([worst], ReduceOp.Max)[0];
    }

    /// <summary>Waits until every rank has arrived (e.g. before rank 0 reads what the others wrote).</summary>
    public void Barrier() => Comm.Barrier();

    /// <summary>Ends the whole job now, on every rank: for a rank that cannot go on.</summary>
    public void Abort(int code) => Comm.Abort(code);

    /// <summary>The normal end of a run on every rank: waits for all ranks, then leaves MPI (see <see cref="Communicator.Finish"/>).</summary>
    public void Finish()
    {
        Comm.Barrier();
        Comm.Finish();
    }

    public void Dispose()
    {
        _reducer?.Dispose();
        Comm.Dispose();
    }
}
