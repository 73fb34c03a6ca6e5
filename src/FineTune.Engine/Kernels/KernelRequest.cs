using FineTune.Config;
using FineTune.Models;

namespace FineTune.Kernels;

/// <summary>
/// What a run will compute, so the check probes exactly that: the ResNet families, the training size and batch
/// (forward and backward), the evaluation size and batch (forward), the layout and the precisions.
/// </summary>
public sealed record KernelRequest(IReadOnlyList<BlockKind> Blocks, int TrainSize, int TrainBatch, int EvalSize, int EvalBatch,
                                   int NumClasses, bool ChannelsLast, bool Training, bool Bf16, int Threads)
{
    /// <summary>
    /// Probes run at most this batch. oneDNN plans its blocking from the whole shape, batch included, but a probe at
    /// batch 32 of every ResNet-50 shape would take most of a minute; the faults seen so far appeared at every batch
    /// tried (2 to 32). Raise it with FINETUNE_KERNEL_CHECK_BATCH to check at a run's own batch.
    /// </summary>
    public static int MaxBatch =>
        int.TryParse(Environment.GetEnvironmentVariable("FINETUNE_KERNEL_CHECK_BATCH"), out var b) && b > 0 ? b : 8;

    public static BlockKind BlockOf(string backbone) =>
        backbone.Trim().ToLowerInvariant() is "resnet18" or "resnet34" ? BlockKind.Basic : BlockKind.Bottleneck;

    /// <summary>
    /// What a run of <paramref name="config"/> computes: training at data.image_size (forward and backward) when
    /// <paramref name="training"/>, evaluation at the eval size; bf16 probes where the run may compute in bf16.
    /// </summary>
    public static KernelRequest ForConfig(FineTuneConfig config, bool training, int weightsSize = 224)
    {
        int trainSize = config.Data.ImageSize ?? weightsSize;
        return new KernelRequest([BlockOf(config.Model.Backbone)], trainSize, config.Data.BatchSize, config.Data.EvalSizeFor(weightsSize),
            config.Data.BatchSize, config.Model.NumClasses, config.Training.ChannelsLast || !training, training,
            MayUseBf16(config.Training.Precision), config.Training.Threads);
    }

    /// <summary>Whether a run with this precision setting may compute in bf16, so its bf16 kernels need checking.</summary>
    public static bool MayUseBf16(PrecisionSetting setting) =>
        setting == PrecisionSetting.Bf16 || (setting == PrecisionSetting.Auto && Precision.ThisCpu().FasterThanFp32);

    /// <summary>
    /// What the test suite runs: both families at small sizes, both layouts, training and evaluation, on libtorch's
    /// default threads and on one (tests that train set training.threads: 1, for the whole test process).
    /// </summary>
    public static KernelRequest ForTests(bool bf16) =>
        new([BlockKind.Basic, BlockKind.Bottleneck], 64, 4, 64, 4, 10, ChannelsLast: true, Training: true, Bf16: bf16, Threads: 0) { AlsoNchw = true, AlsoOneThread = true };

    /// <summary>Probe NCHW as well as channels-last: for a process that computes in both (the test suite).</summary>
    public bool AlsoNchw { get; init; }

    /// <summary>Probe on one thread as well as on <see cref="Threads"/>: for a process that computes on both (the test suite).</summary>
    public bool AlsoOneThread { get; init; }

    /// <summary>The thread counts probed (0: libtorch's default).</summary>
    public IReadOnlyList<int> ThreadCounts => AlsoOneThread && Threads != 1 ? [Threads, 1] : [Threads];

    /// <summary>The probes, without duplicates: a forward-only probe is dropped where a forward+backward one covers it.</summary>
    public IReadOnlyList<Probe> Probes()
    {
        var layouts = ChannelsLast ? (AlsoNchw ? new[] { Layout.ChannelsLast, Layout.Nchw } : [Layout.ChannelsLast]) : [Layout.Nchw];
        var dtypes = Bf16 ? new[] { KernelDtype.Fp32, KernelDtype.Bf16 } : [KernelDtype.Fp32];
        var probes = new List<Probe>();
        foreach (var threads in ThreadCounts)
        foreach (var layout in layouts)
        foreach (var dtype in dtypes)
            foreach (var block in Blocks.Distinct())
            {
                if (Training)
                    foreach (var s in ResNetShapes.For(block, TrainSize, NumClasses))
                        probes.Add(new Probe(s, Math.Min(TrainBatch, MaxBatch), layout, dtype, Backward: true, Threads: threads));
                foreach (var s in ResNetShapes.For(block, EvalSize, NumClasses))
                    probes.Add(new Probe(s, Math.Min(EvalBatch, MaxBatch), layout, dtype, Backward: false, Threads: threads));
            }
        return probes.Where(p => p.Backward || !probes.Contains(p with { Backward = true })).Distinct().ToList();
    }
}
