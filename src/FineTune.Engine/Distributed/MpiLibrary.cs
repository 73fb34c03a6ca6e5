using System.Runtime.InteropServices;

namespace FineTune.Distributed;

/// <summary>
/// A thin binding over the MPI C API of Open MPI (libmpi.so.40), resolved at run time so that a
/// single-process run never needs MPI installed.
///
/// Why our own binding: MPI.NET 1.4.0 (NuGet) binds to MS-MPI's msmpi.dll, whose handles are ints; under
/// Open MPI on Linux it fails with "libmsmpi.dll.so: cannot open shared object file". Open MPI's handles
/// are pointers: MPI_COMM_WORLD is the address of the exported global ompi_mpi_comm_world, MPI_FLOAT of
/// ompi_mpi_float, MPI_SUM of ompi_mpi_op_sum, and MPI_IN_PLACE is (void*)1. MPICH's ABI (int handles)
/// differs; only Open MPI is supported here.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    public const int Success = 0;
    // MPI_THREAD_SERIALIZED: calls never overlap, but need not all come from the thread that called
    // MPI_Init (SyncBatchNorm's all-reduce runs inside autograd's backward).
    const int ThreadSerialized = MpiThreadLevel.Serialized;
    const int RtldNow = 2, RtldGlobal = 0x100;
    static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so"];

    public static readonly IntPtr InPlace = 1;

    readonly IntPtr _lib;
    public string Path { get; }

    // Handles: addresses of Open MPI's predefined objects.
    public IntPtr CommWorld { get; }
    public IntPtr Float { get; }
    public IntPtr Double { get; }
    public IntPtr Byte { get; }
    public IntPtr OpSum { get; }
    public IntPtr OpMax { get; }

    readonly delegate* unmanaged<int*, int> _initialized, _finalized;
    readonly delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    readonly delegate* unmanaged<int> _finalize;
    readonly delegate* unmanaged<IntPtr, int*, int> _commRank, _commSize;
    readonly delegate* unmanaged<IntPtr, int> _barrier;
    readonly delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int> _bcast;
    readonly delegate* unmanaged<void*, void*, int, IntPtr, IntPtr, IntPtr, int> _allreduce;
    readonly delegate* unmanaged<IntPtr, int, int> _abort;
    readonly delegate* unmanaged<double> _wtime;

    MpiLibrary(IntPtr lib, string path)
    {
        _lib = lib;
        Path = path;
        CommWorld = Export("ompi_mpi_comm_world");
        Float = Export("ompi_mpi_float");
        Double = Export("ompi_mpi_double");
        Byte = Export("ompi_mpi_byte");
        OpSum = Export("ompi_mpi_op_sum");
        OpMax = Export("ompi_mpi_op_max");
        _initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _commRank = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_size");
        _barrier = (delegate* unmanaged<IntPtr, int>)Export("MPI_Barrier");
        _bcast = (delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int>)Export("MPI_Bcast");
        _allreduce = (delegate* unmanaged<void*, void*, int, IntPtr, IntPtr, IntPtr, int>)Export("MPI_Allreduce");
        _abort = (delegate* unmanaged<IntPtr, int, int>)Export("MPI_Abort");
        _wtime = (delegate* unmanaged<double>)Export("MPI_Wtime");
    }

    /// <summary>Environment variable naming the libmpi to load (e.g. a CUDA-aware Open MPI under /opt).</summary>
    public const string LibraryVariable = "FINETUNE_MPI_LIBRARY";

    /// <summary>Loads Open MPI, or throws one line that says to install it.</summary>
    public static MpiLibrary Load()
    {
        var chosen = Environment.GetEnvironmentVariable(LibraryVariable);
        foreach (var name in string.IsNullOrEmpty(chosen) ? Candidates : [chosen])
        {
            // RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve symbols of libmpi/libopen-pal from the global scope.
            var handle = DlOpen(name, RtldNow | RtldGlobal);
            if (handle != IntPtr.Zero) return new MpiLibrary(handle, name);
        }
        if (!string.IsNullOrEmpty(chosen))
            throw new DistributedException($"{LibraryVariable}={chosen} could not be loaded: point it at Open MPI's libmpi.so.40, or unset it to use the system's.");
        throw new DistributedException(
            "--distributed needs Open MPI's libmpi.so.40, which is not installed: run `apt-get install openmpi-bin libopenmpi-dev` (Debian/Ubuntu) and start the program with `mpirun -np N finetune ...`.");
    }

    IntPtr Export(string symbol) =>
        NativeLibrary.TryGetExport(_lib, symbol, out var address)
            ? address
            : throw new DistributedException($"{Path} has no symbol {symbol}: FineTune supports Open MPI 4 or later; install openmpi-bin and make sure `mpirun --version` says Open MPI.");

    public bool IsInitialized { get { int flag; Check(_initialized(&flag), "MPI_Initialized"); return flag != 0; } }
    public bool IsFinalized { get { int flag; Check(_finalized(&flag), "MPI_Finalized"); return flag != 0; } }

    public void Init()
    {
        int provided;
        Check(_initThread(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
        MpiThreadLevel.EnsureEnough(provided, Path);
    }

    public void FinalizeMpi() => Check(_finalize(), "MPI_Finalize");
    public int Rank(IntPtr comm) { int r; Check(_commRank(comm, &r), "MPI_Comm_rank"); return r; }
    public int Size(IntPtr comm) { int s; Check(_commSize(comm, &s), "MPI_Comm_size"); return s; }
    public void Barrier(IntPtr comm) => Check(_barrier(comm), "MPI_Barrier");
    public void Bcast(void* buffer, int count, IntPtr type, int root, IntPtr comm) => Check(_bcast(buffer, count, type, root, comm), "MPI_Bcast");

    /// <summary>In-place all-reduce: every rank's buffer ends holding op over all ranks' buffers.</summary>
    public void AllReduceInPlace(void* buffer, int count, IntPtr type, IntPtr op, IntPtr comm) =>
        Check(_allreduce((void*)InPlace, buffer, count, type, op, comm), "MPI_Allreduce");

    public void Abort(IntPtr comm, int code) => _abort(comm, code);
    public double Wtime() => _wtime();

    // With the default error handler (MPI_ERRORS_ARE_FATAL) a failure aborts the job before returning;
    // this check covers communicators given a returning handler.
    static void Check(int code, string call)
    {
        if (code != Success) throw new DistributedException($"{call} failed with MPI error {code}; see the messages from mpirun above.");
    }

    [DllImport("libc", EntryPoint = "dlopen")]
    static extern IntPtr DlOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);
}
