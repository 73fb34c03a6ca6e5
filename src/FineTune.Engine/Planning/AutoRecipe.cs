using FineTune.Config;

namespace FineTune.Planning;

/// <summary>
/// The config a run on a folder of photos trains with: the seed's 50/25/25 split (so Caltech-101 figures compare with
/// the seed's and the reference runs), and the recipe the plan says. On a CPU that is configs/resnet18_fixres_cpu.yaml's
/// recipe (linear probe, one epoch of layer3 + layer4 with BatchNorm frozen, the head refitted at the evaluation size);
/// on a GPU the seed's full fine-tune (configs/resnet18_finetune.yaml). The config is written out as YAML, so
/// `finetune train --config` repeats the run.
/// </summary>
public static class AutoRecipe
{
    /// <summary>The data and output sections alone: enough to scan and split the folder before anything is planned.</summary>
    public static FineTuneConfig ForFolder(string dataDir, string experimentName, string outputRoot, string backbone, string weights) =>
        FineTuneConfig.Defaults with
        {
            Source = $"finetune train --data_dir {dataDir}",
            Data = new DataConfig { DataDir = dataDir, BatchSize = 32, NumWorkers = Math.Clamp(Environment.ProcessorCount, 1, 4), Seed = 42, CacheImages = true },
            Model = new ModelConfig { Backbone = backbone, Pretrained = true, Weights = weights },
            Experiment = new ExperimentConfig
            {
                Name = experimentName,
                CheckpointDir = Path.Combine(outputRoot, "checkpoints"),
                LogDir = Path.Combine(outputRoot, "logs"),
            },
        };

    /// <summary>The recipe of <paramref name="plan"/> on top of <paramref name="folder"/> (from <see cref="ForFolder"/>).</summary>
    public static FineTuneConfig Apply(FineTuneConfig folder, RunPlan plan, int classes) => folder with
    {
        Data = folder.Data with { ImageSize = plan.TrainSize, EvalImageSize = plan.EvalSize, Augmentation = folder.Data.Augmentation with { EvalFlip = plan.Mirrored } },
        Model = folder.Model with { NumClasses = classes },
        Training = plan.Gpu ? SeedFineTune(plan.Epochs) : Cpu(plan.Epochs),
    };

    /// <summary>
    /// The CPU recipe. With epochs, configs/resnet18_fixres_cpu.yaml's training section (its comments say why each value):
    /// the probe (not scored, each photo once) starts the head, layer3 + layer4 train with BatchNorm frozen, and the head
    /// is then fitted again on the fine-tuned backbone's features at the evaluation size, kept only when it validates
    /// higher, and refitted on the training + validation features. One epoch anneals within itself from 1e-4 as that
    /// config does; more (only when --epochs asks) take configs/resnet18_fast_cpu.yaml's rates, whose two epochs were
    /// measured. With no epoch (the probe alone), the probe is scored and then refitted on the training and validation
    /// images, as configs/resnet18_probe_refit_cpu.yaml does: its validation features are computed anyway, so the larger
    /// fit costs seconds (docs/results.md has what each gained on Caltech-101).
    /// </summary>
    public static TrainingConfig Cpu(int epochs) => new()
    {
        NumEpochs = epochs,
        Optimizer = OptimizerKind.AdamW,
        BaseLr = epochs == 1 ? 1e-4 : 5e-5,
        FcLrMultiplier = 2,
        WeightDecay = 1e-4,
        Scheduler = epochs == 1 ? SchedulerKind.CosinePerStep : SchedulerKind.Cosine,
        LabelSmoothing = 0.1,
        LinearProbeEpochs = 30,
        LinearProbeLr = 1e-3,
        LinearProbeValidate = false,
        LinearProbeFlip = epochs == 0,
        LinearProbeRefitWithVal = true,
        RefitHead = epochs > 0,
        FreezeStages = 2,
        FreezeBatchNorm = true,
        ChannelsLast = true,
        EarlyStopping = 0,
    };

    /// <summary>
    /// The seed's fine-tune (configs/resnet18_finetune.yaml: every layer trains, AdamW 1e-5 with a 10x head), with a cosine
    /// schedule instead of the plateau one, so the rate reaches its end within the planned epochs.
    /// </summary>
    public static TrainingConfig SeedFineTune(int epochs) => new()
    {
        NumEpochs = epochs,
        Optimizer = OptimizerKind.AdamW,
        BaseLr = 1e-5,
        FcLrMultiplier = 10,
        WeightDecay = 1e-4,
        Scheduler = SchedulerKind.Cosine,
        EarlyStopping = 0,
    };
}
