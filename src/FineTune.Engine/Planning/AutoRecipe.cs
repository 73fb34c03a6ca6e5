using FineTune.Config;

namespace FineTune.Planning;

/// <summary>
/// The config a run on a folder of photos trains with: the seed's 50/25/25 split (so Caltech-101 figures compare with
/// the seed's and the reference runs), and the recipe the plan says. On a CPU that is configs/resnet18_fast_cpu.yaml's
/// recipe (linear probe, then layer3 + layer4 with BatchNorm frozen, small AdamW rates, cosine, label smoothing); on a
/// GPU the seed's full fine-tune (configs/resnet18_finetune.yaml). The config is written out as YAML, so
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
        Training = plan.Gpu ? SeedFineTune(plan.Epochs) : FastCpu(plan.Epochs),
    };

    /// <summary>
    /// configs/resnet18_fast_cpu.yaml's training section (its comments say why each value), except that the probe is not
    /// scored on validation when epochs follow: epoch 1 validates, and the pass it saves (a third of the probe's on a
    /// 50/25/25 split) goes to the budget. When no epoch follows (the probe alone), the probe is refitted on the training
    /// and validation images after its score, as configs/resnet18_probe_refit_cpu.yaml does: its validation features are
    /// computed anyway, so the larger fit costs seconds (docs/results.md has what it gained on Caltech-101).
    /// </summary>
    public static TrainingConfig FastCpu(int epochs) => new()
    {
        NumEpochs = epochs,
        Optimizer = OptimizerKind.AdamW,
        BaseLr = 5e-5,
        FcLrMultiplier = 2,
        WeightDecay = 1e-4,
        Scheduler = SchedulerKind.Cosine,
        LabelSmoothing = 0.1,
        LinearProbeEpochs = 30,
        LinearProbeLr = 1e-3,
        LinearProbeValidate = false,
        LinearProbeRefitWithVal = epochs == 0,
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
