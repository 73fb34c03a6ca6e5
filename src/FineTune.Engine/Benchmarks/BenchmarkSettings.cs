using FineTune.Models;

namespace FineTune.Benchmarks;

/// <summary>What a benchmark times: a training step (forward, loss, backward, SGD step) or an evaluation forward.</summary>
public enum BenchmarkMode { Train, Eval }

/// <summary>How evaluation turns autograd off: no_grad (the seed's choice) or inference_mode (also skips version counters).</summary>
public enum EvalGradMode { NoGrad, InferenceMode }

/// <summary>
/// One throughput measurement's settings, shared by our side and PyTorch's so both do the same work.
/// Threads 0 means "one per core" (the machine's core count), not each library's own default: PyTorch 1.13
/// on this machine defaults to a single thread, which would make the comparison meaningless.
/// </summary>
public sealed record BenchmarkSettings
{
    public int Batch { get; init; } = 32;
    public int Size { get; init; } = 224;
    public int Warmup { get; init; } = 3;
    public int Steps { get; init; } = 10;
    public int Threads { get; init; }
    public int InteropThreads { get; init; }
    /// <summary>Model and batch in channels-last memory on both sides (the default: faster for both libraries on a CPU).</summary>
    public bool ChannelsLast { get; init; } = true;
    /// <summary>How the measured models' kernels run: the kernel check's plan (`finetune bench` checks first).</summary>
    public KernelRouting Routing { get; init; } = KernelRouting.Default;
    public EvalGradMode EvalGradMode { get; init; } = EvalGradMode.NoGrad;
    /// <summary>What runs our evaluation rows: FineTune's own choice (auto: ONNX Runtime over the exported graph for fp32, as training.eval_engine), or libtorch.</summary>
    public Config.EvalEngineSetting EvalEngine { get; init; } = Config.EvalEngineSetting.Auto;
    public int Classes { get; init; } = 1000;

    /// <summary>
    /// What both sides compute in: fp32, or bf16 autocast (ours: <see cref="Models.ResNet.Precision"/>; PyTorch:
    /// torch.autocast('cpu', dtype=torch.bfloat16)). The bench command runs each asked precision as its own rows.
    /// </summary>
    public Models.ComputePrecision Precision { get; init; } = Models.ComputePrecision.Fp32;

    /// <summary>PyTorch's side keeps NCHW even when ours runs channels-last: the seed's code as it is.</summary>
    public bool ReferenceNchw { get; init; }

    /// <summary>Ours only: big tensors on transparent huge pages (see <see cref="Native.TensorMemory.UseHugePages"/>).</summary>
    public bool HugePages { get; init; }

    /// <summary>
    /// PyTorch's side runs with the heap ours uses by default (freed memory kept: MALLOC_MMAP_MAX_=0 and no
    /// automatic trim, see <see cref="Native.TensorMemory"/>), to show how much of a ratio that setting explains.
    /// </summary>
    public bool ReferenceKeptHeap { get; init; }

    /// <summary>
    /// End to end when set: each step takes its batch from a data loader over images of this folder (one sub-folder
    /// per class) instead of reusing a random batch made once. Null: the model alone, on random input.
    /// </summary>
    public string? DataDir { get; init; }

    /// <summary>End to end: how many images (a seeded subset of the folder's usable ones) the loaders cycle over.</summary>
    public int Images { get; init; } = 640;

    /// <summary>End to end: loader workers on both sides (our threads, PyTorch's processes).</summary>
    public int Workers { get; init; } = 2;

    public bool EndToEnd => DataDir is not null;

    /// <summary>The SGD of the training step, identical on both sides.</summary>
    public const double LearningRate = 0.01, Momentum = 0.9, WeightDecay = 1e-4;

    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        if (Batch < 1) throw new ArgumentException($"--batch must be at least 1; got {Batch}.");
        if (Size < 32) throw new ArgumentException($"--size must be at least 32 pixels (a ResNet downsamples 32x); got {Size}.");
        if (Warmup < 0) throw new ArgumentException($"--warmup must be 0 or more; got {Warmup}.");
        if (Steps < 1) throw new ArgumentException($"--steps must be at least 1; got {Steps}.");
        if (Threads < 0) throw new ArgumentException($"--threads must be 0 (one per core) or more; got {Threads}.");
        if (InteropThreads < 0) throw new ArgumentException($"--interop-threads must be 0 (library default) or more; got {InteropThreads}.");
        if (Workers < 1) throw new ArgumentException($"--workers must be at least 1; got {Workers}.");
        if (EndToEnd && Images < Batch) throw new ArgumentException($"--images ({Images}) must be at least --batch ({Batch}): every timed step takes a full batch.");
    }
}
