using static TorchSharp.torch;

namespace FineTune.Distributed;

/// <summary>MPI_COMM_WORLD of an Open MPI job: one process per rank, started by mpirun.</summary>
public sealed unsafe class MpiCommunicator : Communicator
{
    // MPI counts are C ints: large buffers go in chunks.
    const int MaxCount = int.MaxValue / 8;

    readonly MpiLibrary _mpi;
    readonly bool _initializedHere;
    bool _finished;

    public override int Rank { get; }
    public override int Size { get; }
    public override int LocalRank { get; }

    MpiCommunicator(MpiLibrary mpi, bool initializedHere, int localRank)
    {
        _mpi = mpi;
        _initializedHere = initializedHere;
        Rank = mpi.Rank(mpi.CommWorld);
        Size = mpi.Size(mpi.CommWorld);
        LocalRank = localRank;
    }

    /// <summary>Loads Open MPI and joins MPI_COMM_WORLD (MPI_Init_thread, MPI_THREAD_SERIALIZED).</summary>
    public static MpiCommunicator Initialize(int localRank = 0)
    {
        var mpi = MpiLibrary.Load();
        bool initHere = !mpi.IsInitialized;
        if (initHere) mpi.Init();
        return new MpiCommunicator(mpi, initHere, localRank);
    }

    public override void Barrier()
    {
        var start = _mpi.Wtime();
        _mpi.Barrier(_mpi.CommWorld);
        CommunicationSeconds += _mpi.Wtime() - start;
    }

    public override void Abort(int code) => _mpi.Abort(_mpi.CommWorld, code);

    public override string Describe() => $"Open MPI ({_mpi.Path}), rank {Rank} of {Size}, local rank {LocalRank}";

    protected override void BroadcastBytes(Tensor t, int root)
    {
        var bytes = t.bytes; // a view of the tensor's own CPU memory
        fixed (byte* start = bytes)
        {
            for (long offset = 0; offset < bytes.Length; offset += MaxCount)
                _mpi.Bcast(start + offset, (int)Math.Min(MaxCount, bytes.Length - offset), _mpi.Byte, root, _mpi.CommWorld);
        }
    }

    protected override void AllReduceCore(Tensor t, ReduceOp op)
    {
        var type = t.dtype == ScalarType.Float64 ? _mpi.Double : _mpi.Float;
        int elementSize = t.dtype == ScalarType.Float64 ? 8 : 4;
        var mpiOp = op == ReduceOp.Max ? _mpi.OpMax : _mpi.OpSum;
        var bytes = t.bytes;
        long count = bytes.Length / elementSize;
        fixed (byte* start = bytes)
        {
            for (long offset = 0; offset < count; offset += MaxCount)
                _mpi.AllReduceInPlace(start + offset * elementSize, (int)Math.Min(MaxCount, count - offset), type, mpiOp, _mpi.CommWorld);
        }
    }

    /// <summary>MPI_Finalize, at a normal end only (see <see cref="Communicator.Finish"/>).</summary>
    public override void Finish()
    {
        if (_finished) return;
        _finished = true;
        if (_initializedHere && !_mpi.IsFinalized) _mpi.FinalizeMpi();
    }
}
