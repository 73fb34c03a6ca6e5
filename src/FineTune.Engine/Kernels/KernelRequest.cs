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
    /// The largest batch probed at a run's own image size (FINETUNE_KERNEL_CHECK_BATCH raises it). A larger batch is
    /// probed at a smaller size, <see cref="SizeFor"/>, so that no probe computes more pixels than this many images.
    /// </summary>
    public static int MaxBatch =>
        int.TryParse(Environment.GetEnvironmentVariable("FINETUNE_KERNEL_CHECK_BATCH"), out var b) && b > 0 ? b : 8;

    /// <summary>
    /// The image size at which batch <paramref name="batch"/> is probed for a run at <paramref name="size"/>: the
    /// size itself up to <see cref="MaxBatch"/>, above it the size scaled by sqrt(MaxBatch / batch), in steps of 32
    /// (a ResNet's overall stride), at least 32. The reasoning, and its limit: oneDNN picks a kernel and its blocking from the
    /// whole shape, and the batch enters through how the work is split over threads and blocked over samples (and
    /// the tail of a batch that does not fill a block). Each kernel shape is therefore probed at the run's own
    /// size (spatial blocking) and at the run's own batches (batch blocking and splitting); a fault that needs both
    /// the full size and a batch above MaxBatch at once would pass, and FINETUNE_KERNEL_CHECK_BATCH closes that gap.
    /// Probing every ResNet-18 shape at batch 32 and 288 px against float64 would take minutes on 2 cores; this keeps each
    /// probe within MaxBatch images of the run's size (up to a batch of MaxBatch * (size / 32)^2, 392 at 224 px).
    /// </summary>
    public static int SizeFor(int batch, int size) =>
        batch <= MaxBatch ? size : Math.Min(size, Math.Max(32, (int)(size * Math.Sqrt((double)MaxBatch / batch)) / 32 * 32));

    /// <summary>
    /// The batches training computes at: its batch and, standing in for its last one, the largest odd batch below it.
    /// The data is split after the check, so the real last batch is not known here; an odd one exercises a kernel's
    /// tail over samples. Not 1 (BatchNorm's batch statistics need two values per channel, which a 1x1 map lacks).
    /// </summary>
    public IReadOnlyList<int> TrainBatches => Odd(TrainBatch) >= 3 ? [TrainBatch, Odd(TrainBatch)] : [TrainBatch];

    /// <summary>The batches evaluation computes at: its batch, an odd last batch, and 1 (a last batch of one, `predict` on one image).</summary>
    public IReadOnlyList<int> EvalBatches => new[] { EvalBatch, Odd(EvalBatch), 1 }.Where(b => b >= 1).Distinct().ToList();

    static int Odd(int batch) => batch % 2 == 0 ? batch - 1 : batch - 2;

    public static BlockKind BlockOf(string backbone) =>
        backbone.Trim().ToLowerInvariant() is "resnet18" or "resnet34" ? BlockKind.Basic : BlockKind.Bottleneck;

    /// <summary>
    /// What a run of <paramref name="config"/> computes: training at data.image_size (forward and backward) when
    /// <paramref name="training"/>, evaluation at the eval size; bf16 probes where the run may compute in bf16.
    /// </summary>
    public static KernelRequest ForConfig(FineTuneConfig config, bool training, int weightsSize = 224)
    {
        int trainSize = config.Data.ImageSize ?? weightsSize;
        // Evaluation with mirror images runs batches of twice the size (EvalPass.FlipAverage).
        int evalBatch = config.Data.BatchSize * (config.Data.Augmentation.EvalFlip ? 2 : 1);
        return new KernelRequest([BlockOf(config.Model.Backbone)], trainSize, config.Data.BatchSize, config.Data.EvalSizeFor(weightsSize),
            evalBatch, config.Model.NumClasses, config.Training.ChannelsLast || !training, training,
            MayUseBf16(config.Training.Precision), config.Training.Threads)
        {
            EarlierTrainSizes = config.Data.SizeScheduleFor(weightsSize, config.Training.NumEpochs)?.Sizes.Where(s => s != trainSize).ToList() ?? [],
        };
    }

    /// <summary>The other sizes a resolution schedule (data.image_size_start) trains at before <see cref="TrainSize"/>, probed like it.</summary>
    public IReadOnlyList<int> EarlierTrainSizes { get; init; } = [];

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

    /// <summary>
    /// The probes, without duplicates: every shape at every batch the run computes at (see <see cref="SizeFor"/>), and at
    /// <see cref="MaxBatch"/> at the run's own size where its batch is larger. Training probes BatchNorm with batch and
    /// with running statistics (freeze_batchnorm), evaluation with running statistics. A forward-only probe is dropped
    /// where a forward+backward one covers it.
    /// </summary>
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
            void Add(int size, IReadOnlyList<int> batches, bool backward, params ProbeOp[] batchNorms)
            {
                foreach (var batch in batches.Append(Math.Min(batches[0], MaxBatch)).Distinct())
                foreach (var s in ResNetShapes.For(block, SizeFor(batch, size), NumClasses))
                foreach (var shape in s.Op == ProbeOp.BatchNorm ? batchNorms.Select(op => s with { Op = op }) : [s])
                    // Evaluation folds each BatchNorm into its convolution: forward-only convolutions carry a bias.
                    probes.Add(new Probe(shape, batch, layout, dtype, backward, Threads: threads, Bias: !backward && shape.Op == ProbeOp.Conv));
            }
            if (Training)
                foreach (var size in EarlierTrainSizes.Append(TrainSize))
                    Add(size, TrainBatches, backward: true, ProbeOp.BatchNorm, ProbeOp.BatchNormEval);
            Add(EvalSize, EvalBatches, backward: false, ProbeOp.BatchNormEval);
        }
        return probes.Where(p => p.Backward || !probes.Contains(p with { Backward = true, Bias = false })).Distinct().ToList();
    }
}
