namespace FineTune.Config;

/// <summary>
/// A training run as the seed's YAML describes it: four sections, each a typed record. Every key of the
/// seed is here under its seed name (snake_case in YAML); the extra keys are optional with defaults
/// documented in docs/config.md. Inner code reads these records, never the YAML.
/// </summary>
public sealed record FineTuneConfig(DataConfig Data, ModelConfig Model, TrainingConfig Training, ExperimentConfig Experiment)
{
    /// <summary>The file the config came from (for messages); "(defaults)" when built in code.</summary>
    public string Source { get; init; } = "(defaults)";

    public static FineTuneConfig Defaults { get; } = new(new DataConfig(), new ModelConfig(), new TrainingConfig(), new ExperimentConfig());
}

/// <summary>Where the images come from and how they are split and batched.</summary>
public sealed record DataConfig
{
    public string DataDir { get; init; } = "data/caltech-101/101_ObjectCategories";
    public double TrainSize { get; init; } = 0.5;
    public double ValSize { get; init; } = 0.25;
    public double TestSize { get; init; } = 0.25;
    public int BatchSize { get; init; } = 32;
    public int NumWorkers { get; init; } = 4;
    public int Seed { get; init; } = 42;
    /// <summary>folder: class subfolders under data_dir (the seed). synthetic: procedurally drawn images, no files.</summary>
    public DataSource Source { get; init; } = DataSource.Folder;
    /// <summary>Side of the square image the model sees; null means the weights' own input size (224 for ImageNet ResNets).</summary>
    public int? ImageSize { get; init; }
    /// <summary>
    /// Side of the square for validation, test and predict; null means image_size. Larger than image_size pays off
    /// (FixRes): random crops during training make objects look bigger than a whole resized image does at test time.
    /// </summary>
    public int? EvalImageSize { get; init; }
    /// <summary>
    /// First epoch's training size of a resolution schedule (progressive resizing, as fastai does it): the size rises
    /// linearly to image_size at the last epoch. Null: every epoch at image_size.
    /// </summary>
    public int? ImageSizeStart { get; init; }

    /// <summary>The training size for weights whose own input is <paramref name="weightsSize"/> (a schedule's last and largest).</summary>
    public int TrainSizeFor(int weightsSize) => ImageSize ?? weightsSize;

    /// <summary>The training sizes epoch by epoch, or null when every epoch trains at <see cref="TrainSizeFor"/>.</summary>
    public SizeSchedule? SizeScheduleFor(int weightsSize, int epochs) =>
        ImageSizeStart is { } first && first != TrainSizeFor(weightsSize) ? new(first, TrainSizeFor(weightsSize), epochs) : null;

    /// <summary>The evaluation size for weights whose own input is <paramref name="weightsSize"/>.</summary>
    public int EvalSizeFor(int weightsSize) => EvalImageSize ?? ImageSize ?? weightsSize;
    /// <summary>Keep decoded, resized images in memory after the first epoch.</summary>
    public bool CacheImages { get; init; }
    /// <summary>Images per class when source is synthetic.</summary>
    public int SyntheticImagesPerClass { get; init; } = 24;
    public AugmentationConfig Augmentation { get; init; } = new();
}

public enum DataSource { Folder, Synthetic }

/// <summary>
/// The seed's augmentation: RandomResizedCrop(scale 0.8-1.0, ratio 0.8-1.2), horizontal flip, rotation ±15°
/// for training; evaluation resizes to the square (the seed's Resize((224, 224))).
/// </summary>
public sealed record AugmentationConfig
{
    public double ScaleMin { get; init; } = 0.8;
    public double ScaleMax { get; init; } = 1.0;
    public double RatioMin { get; init; } = 0.8;
    public double RatioMax { get; init; } = 1.2;
    public double FlipProbability { get; init; } = 0.5;
    public double RotationDegrees { get; init; } = 15;
    /// <summary>Evaluation resize: stretch to the square (the seed) or keep the aspect and centre-crop.</summary>
    public EvalResize EvalResize { get; init; } = EvalResize.Stretch;
    /// <summary>Evaluate each image and its mirror image and average the two (test-time augmentation).</summary>
    public bool EvalFlip { get; init; }
}

public enum EvalResize { Stretch, CenterCrop }

/// <summary>Which network and which starting weights.</summary>
public sealed record ModelConfig
{
    /// <summary>The backbones model.backbone may name: torchvision's ResNets, whose layer plans are Models/ModelFactory.cs's.</summary>
    public static IReadOnlyList<string> Backbones { get; } = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"];

    public string Backbone { get; init; } = "resnet18";
    public bool Pretrained { get; init; } = true;
    public int NumClasses { get; init; } = 101;
    /// <summary>auto | bundled | torchvision | download | a path to a .pth/.safetensors file | a path to a FineTune .ckpt (see Training.Checkpoints.StartingCheckpoint); used when pretrained is true.</summary>
    public string Weights { get; init; } = "auto";
}

public enum OptimizerKind { Sgd, Adam, AdamW }
public enum SchedulerKind { Step, Cosine, CosinePerStep, ReduceLrOnPlateau, None }

/// <summary>The seed's training hyper-parameters, plus a few optional modern ones (all off by default).</summary>
public sealed record TrainingConfig
{
    public int NumEpochs { get; init; } = 30;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    public double BaseLr { get; init; } = 1e-4;
    public double FcLrMultiplier { get; init; } = 1;
    public double WeightDecay { get; init; } = 1e-4;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    public SchedulerKind Scheduler { get; init; } = SchedulerKind.ReduceLrOnPlateau;
    public int Patience { get; init; } = 5;
    public double Factor { get; init; } = 0.1;
    /// <summary>Epochs without validation improvement before stopping; 0 turns early stopping off.</summary>
    public int EarlyStopping { get; init; } = 10;
    /// <summary>Epochs between decays of the step scheduler; null means num_epochs / 3 as in the seed.</summary>
    public int? StepSize { get; init; }
    public double LabelSmoothing { get; init; }
    /// <summary>Epochs over which the learning rate ramps linearly (per step) from near 0 to its scheduled value.</summary>
    public int WarmupEpochs { get; init; }
    /// <summary>Epochs at the start during which only the classifier trains.</summary>
    public int FreezeBackboneEpochs { get; init; }
    /// <summary>Epochs of the classifier alone on features of the frozen backbone computed once, before epoch 1 (0: none).</summary>
    public int LinearProbeEpochs { get; init; }
    /// <summary>The probe's AdamW rate (cosine to 0), its own: the fine-tuning rates are far too small for a head from scratch.</summary>
    public double LinearProbeLr { get; init; } = 1e-3;
    /// <summary>The stem and this many of the four stages never train (0: none); their BatchNorm keeps its statistics.</summary>
    public int FreezeStages { get; init; }
    /// <summary>BatchNorm layers keep their running statistics while training (eval mode); their scale and shift still learn.</summary>
    public bool FreezeBatchNorm { get; init; }
    /// <summary>The frozen stages' output for epoch 1's views is kept in memory and replayed by later epochs (when it fits).</summary>
    public bool CacheActivations { get; init; }
    /// <summary>The linear probe's training features come from the pass that fills the activation cache (epoch 1's views), not from a pass of their own.</summary>
    public bool LinearProbeFromCache { get; init; }
    /// <summary>The linear probe is scored on the validation images; false skips that pass when epochs follow (epoch 1 validates).</summary>
    public bool LinearProbeValidate { get; init; } = true;
    /// <summary>Whether the linear probe is scored on validation: as asked, and always in a probe-only run, whose probe is the result.</summary>
    public bool ScoresLinearProbe => LinearProbeValidate || NumEpochs == 0;
    /// <summary>With data.augmentation.eval_flip, the probe's features are mirror-averaged too; false: each image once (half the probe's passes).</summary>
    public bool LinearProbeFlip { get; init; } = true;
    /// <summary>The probe's feature passes mirror-average (<see cref="LinearProbeFlip"/> and eval_flip both on).</summary>
    public bool ProbeMirrored(DataConfig data) => LinearProbeFlip && data.Augmentation.EvalFlip;
    /// <summary>
    /// The probe that ends the run (a probe-only run's, or <see cref="RefitHead"/>'s) is fitted a second time, on the training and
    /// validation features together, and that fit is kept.
    /// </summary>
    public bool LinearProbeRefitWithVal { get; init; }
    /// <summary>After the last epoch the head is fitted again from zero, as the probe fits it, on the fine-tuned backbone's features at the evaluation size.</summary>
    public bool RefitHead { get; init; }
    /// <summary>Channels-last (NHWC) input batches: the convolutions keep that layout, faster on CPUs.</summary>
    public bool ChannelsLast { get; init; }
    /// <summary>fp32, bf16 autocast, or auto (bf16 where the CPU runs it fast, see Models/Precision.cs).</summary>
    public PrecisionSetting Precision { get; init; } = PrecisionSetting.Auto;
    /// <summary>What runs evaluation forwards: ONNX Runtime over the exported graph where it can (auto), or libtorch.</summary>
    public EvalEngineSetting EvalEngine { get; init; } = EvalEngineSetting.Auto;
    /// <summary>Largest gradient norm; 0 turns clipping off.</summary>
    public double GradClip { get; init; }
    /// <summary>Intra-op CPU threads; 0 leaves libtorch's default (one per core).</summary>
    public int Threads { get; init; }
    /// <summary>With --distributed: BatchNorm statistics over the global batch instead of each rank's own.</summary>
    public bool SyncBatchNorm { get; init; }

    public int EffectiveStepSize => StepSize ?? Math.Max(1, NumEpochs / 3);
}

/// <summary>Where a run's checkpoints and logs go, and which checkpoints are kept.</summary>
public sealed record ExperimentConfig
{
    public string Name { get; init; } = "experiment";

    /// <summary>An experiment name becomes a folder under checkpoint_dir, log_dir and the report folder.</summary>
    public static bool IsFolderName(string name) =>
        name.Length > 0 && name is not ("." or "..") && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;
    public string CheckpointDir { get; init; } = "outputs/checkpoints";
    public string LogDir { get; init; } = "outputs/logs";
    /// <summary>true: keep checkpoint_best and the last epoch's; false: also every save_every epochs.</summary>
    public bool SaveBestOnly { get; init; } = true;
    public int SaveEvery { get; init; } = 5;
    /// <summary>Also write the best model as a PyTorch state dict (checkpoint_best.pth) with its JSON (checkpoint_best.json) for tools/pytorch/load_export.py.</summary>
    public bool ExportPytorch { get; init; } = true;

    public string RunCheckpointDir => Path.Combine(CheckpointDir, Name);
    public string RunLogDir => Path.Combine(LogDir, Name);
}
