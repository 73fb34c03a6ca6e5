namespace FineTune.Config;

/// <summary>
/// One key of the YAML config: where it lives, what it holds, what it means, and how it maps onto
/// <see cref="FineTuneConfig"/>. <see cref="ConfigKeys.All"/> is the one list of keys: <see cref="ConfigLoader"/>
/// reads them, <see cref="ConfigPrinter"/> (`finetune train --dry-run`, checkpoints) writes them, TensorBoard's
/// hparams take the marked ones, and docs/config.md's key tables are made from it (a test keeps them equal).
/// </summary>
public sealed record ConfigKey
{
    /// <summary>Section path: data, data.augmentation, model, training or experiment.</summary>
    public required string Section { get; init; }
    public required string Name { get; init; }
    /// <summary>The value's kind as docs/config.md states it.</summary>
    public required string Type { get; init; }
    /// <summary>The meaning, one line of markdown.</summary>
    public required string Doc { get; init; }
    /// <summary>Not a key of the PyTorch seed (optional, defaults to the seed's behaviour or off).</summary>
    public bool New { get; init; }
    /// <summary>The default as the docs state it when it is not a plain value (a null that stands for something); else the printed default.</summary>
    public string? DefaultDoc { get; init; }
    /// <summary>Logged to TensorBoard's HParams tab.</summary>
    public bool HParam { get; init; }

    /// <summary>Reads the key from its section into the config (validation of the value included).</summary>
    internal Func<YamlSection, FineTuneConfig, FineTuneConfig> Read { get; init; } = (_, c) => c;
    /// <summary>The value as YAML writes it: a string, number, bool or null.</summary>
    public required Func<FineTuneConfig, object?> Value { get; init; }
    /// <summary>A comment the printer adds after the value (what a null resolves to), or null.</summary>
    public Func<FineTuneConfig, string?> Note { get; init; } = _ => null;

    /// <summary>The key under its section ("augmentation.scale_min" within data).</summary>
    public string PathInSection => Section.Contains('.') ? Section[(Section.IndexOf('.') + 1)..] + "." + Name : Name;
}

/// <summary>Every config key, in the seed's order within each section. Checks that span keys stay in <see cref="ConfigLoader"/>.</summary>
public static class ConfigKeys
{
    /// <summary>The sections in file order; a dotted one is nested in the section before its dot.</summary>
    public static IReadOnlyList<string> Sections { get; } = ["data", "data.augmentation", "model", "training", "experiment"];

    public static IReadOnlyList<ConfigKey> In(string section) => All.Where(k => k.Section == section).ToList();

    static readonly Dictionary<string, DataSource> Sources = new() { ["folder"] = DataSource.Folder, ["synthetic"] = DataSource.Synthetic };
    static readonly Dictionary<string, EvalResize> EvalResizes = new() { ["stretch"] = EvalResize.Stretch, ["center_crop"] = EvalResize.CenterCrop };
    static readonly Dictionary<string, OptimizerKind> Optimizers = new()
    {
        ["sgd"] = OptimizerKind.Sgd, ["adam"] = OptimizerKind.Adam, ["adamw"] = OptimizerKind.AdamW,
    };
    static readonly Dictionary<string, SchedulerKind> Schedulers = new()
    {
        ["step"] = SchedulerKind.Step, ["cosine"] = SchedulerKind.Cosine, ["cosine_per_step"] = SchedulerKind.CosinePerStep,
        ["reduce_lr_on_plateau"] = SchedulerKind.ReduceLrOnPlateau, ["none"] = SchedulerKind.None,
    };
    static readonly Dictionary<string, PrecisionSetting> Precisions = new()
    {
        ["auto"] = PrecisionSetting.Auto, ["fp32"] = PrecisionSetting.Fp32, ["bf16"] = PrecisionSetting.Bf16, ["fp64"] = PrecisionSetting.Fp64,
    };

    static readonly Dictionary<string, EvalEngineSetting> EvalEngines = new()
    {
        ["auto"] = EvalEngineSetting.Auto, ["torch"] = EvalEngineSetting.Torch, ["onnxruntime"] = EvalEngineSetting.OnnxRuntime,
    };

    static string NameOf<T>(Dictionary<string, T> choices, T value) where T : struct, Enum =>
        choices.First(c => EqualityComparer<T>.Default.Equals(c.Value, value)).Key;

    static ConfigKey Data(string name, string type, string doc, Func<YamlSection, string, DataConfig, DataConfig> read, Func<DataConfig, object?> value) =>
        new() { Section = "data", Name = name, Type = type, Doc = doc, Read = (s, c) => c with { Data = read(s, name, c.Data) }, Value = c => value(c.Data) };

    static ConfigKey Augmentation(string name, string type, string doc, Func<YamlSection, string, AugmentationConfig, AugmentationConfig> read, Func<AugmentationConfig, object?> value) =>
        new()
        {
            Section = "data.augmentation", Name = name, Type = type, Doc = doc, New = true,
            Read = (s, c) => c with { Data = c.Data with { Augmentation = read(s, name, c.Data.Augmentation) } },
            Value = c => value(c.Data.Augmentation),
        };

    static ConfigKey Model(string name, string type, string doc, Func<YamlSection, string, ModelConfig, ModelConfig> read, Func<ModelConfig, object?> value) =>
        new() { Section = "model", Name = name, Type = type, Doc = doc, Read = (s, c) => c with { Model = read(s, name, c.Model) }, Value = c => value(c.Model) };

    static ConfigKey Training(string name, string type, string doc, Func<YamlSection, string, TrainingConfig, TrainingConfig> read, Func<TrainingConfig, object?> value) =>
        new() { Section = "training", Name = name, Type = type, Doc = doc, Read = (s, c) => c with { Training = read(s, name, c.Training) }, Value = c => value(c.Training) };

    static ConfigKey Experiment(string name, string type, string doc, Func<YamlSection, string, ExperimentConfig, ExperimentConfig> read, Func<ExperimentConfig, object?> value) =>
        new() { Section = "experiment", Name = name, Type = type, Doc = doc, Read = (s, c) => c with { Experiment = read(s, name, c.Experiment) }, Value = c => value(c.Experiment) };

    const string Number = "number", Whole = "whole number", Bool = "true/false", Text = "text";
    static string OneOf<T>(Dictionary<string, T> choices) => "one of " + string.Join(", ", choices.Keys.Select(k => "`" + k + "`"));

    public static IReadOnlyList<ConfigKey> All { get; } =
    [
        Data("data_dir", "path", "folder with one subfolder of images per class (`finetune data prepare` unpacks Caltech-101 there)",
            (s, k, d) => d with { DataDir = s.String(k, d.DataDir) }, d => d.DataDir),
        Data("train_size", Number, "fraction of each class for training, in (0, 1]",
            (s, k, d) => d with { TrainSize = s.Double(k, d.TrainSize, 0, 1, minExclusive: true) }, d => d.TrainSize),
        Data("val_size", Number, "fraction for validation, in (0, 1]",
            (s, k, d) => d with { ValSize = s.Double(k, d.ValSize, 0, 1, minExclusive: true) }, d => d.ValSize),
        Data("test_size", Number, "fraction for the test set, in (0, 1]; the three must sum to 1 (checked when the config loads)",
            (s, k, d) => d with { TestSize = s.Double(k, d.TestSize, 0, 1, minExclusive: true) }, d => d.TestSize),
        Data("batch_size", Whole, "images per step, at least 1",
            (s, k, d) => d with { BatchSize = s.Int(k, d.BatchSize, 1) }, d => d.BatchSize) with { HParam = true },
        Data("num_workers", Whole, "background threads decoding and augmenting images (0 counts as 1)",
            (s, k, d) => d with { NumWorkers = s.Int(k, d.NumWorkers, 0) }, d => d.NumWorkers),
        Data("seed", Whole, "seed of the split, the shuffling and the model's initialisation",
            (s, k, d) => d with { Seed = s.Int(k, d.Seed, 0) }, d => d.Seed),
        Data("source", OneOf(Sources), "`folder`: images under `data_dir`; `synthetic`: procedurally drawn stripes, no files (quickstart, tests)",
            (s, k, d) => d with { Source = s.Choice(k, d.Source, Sources) }, d => NameOf(Sources, d.Source)) with { New = true },
        Data("image_size", Whole + " or null", "side of the square the model sees in training, 32..1024",
            (s, k, d) => d with { ImageSize = s.IntOrNull(k, 32, 1024) }, d => d.ImageSize) with
        {
            New = true, DefaultDoc = "weights' size (224)",
            Note = c => c.Data.ImageSize is null ? "the weights' input size (224 for ImageNet ResNets)" : null,
        },
        Data("eval_image_size", Whole + " or null", "side of the square for validation, `finetune test` and `predict`, 32..1024. Larger than the training size often scores higher (\"FixRes\", Touvron et al. 2019): random crops in training make objects look larger than a whole resized image does",
            (s, k, d) => d with { EvalImageSize = s.IntOrNull(k, 32, 1024) }, d => d.EvalImageSize) with
        {
            New = true, DefaultDoc = "`image_size`",
            Note = c => c.Data.EvalImageSize is null ? "image_size" : null,
        },
        Data("image_size_start", Whole + " or null", "first epoch's training size of a resolution schedule (progressive resizing), 32..1024, below `image_size`: the size rises linearly to `image_size` at the last epoch (sizes between rounded down to a multiple of 16), so early epochs cost less. Folder data only; not with `training.cache_activations` (which replays epoch 1's views)",
            (s, k, d) => d with { ImageSizeStart = s.IntOrNull(k, 32, 1024) }, d => d.ImageSizeStart) with
        {
            New = true, DefaultDoc = "null (every epoch at `image_size`)",
        },
        Data("cache_images", Bool, "keep decoded, resized images in memory after the first epoch, up to a third of the memory available (the run says when not all of them fit)",
            (s, k, d) => d with { CacheImages = s.Bool(k, d.CacheImages) }, d => d.CacheImages) with { New = true },
        Data("synthetic_images_per_class", Whole, "training images per class with `source: synthetic` (validation gets half)",
            (s, k, d) => d with { SyntheticImagesPerClass = s.Int(k, d.SyntheticImagesPerClass, 4) }, d => d.SyntheticImagesPerClass) with { New = true },

        Augmentation("scale_min", Number, "RandomResizedCrop: smallest area fraction of the image a training crop keeps, in (0, 1]",
            (s, k, a) => a with { ScaleMin = s.Double(k, a.ScaleMin, 0, 1, minExclusive: true) }, a => a.ScaleMin),
        Augmentation("scale_max", Number, "RandomResizedCrop: largest area fraction, in (0, 1], at least `scale_min`",
            (s, k, a) => a with { ScaleMax = s.Double(k, a.ScaleMax, 0, 1, minExclusive: true) }, a => a.ScaleMax),
        Augmentation("ratio_min", Number, "RandomResizedCrop: smallest aspect ratio (w/h) of a crop",
            (s, k, a) => a with { RatioMin = s.Double(k, a.RatioMin, 0, 10, minExclusive: true) }, a => a.RatioMin),
        Augmentation("ratio_max", Number, "RandomResizedCrop: largest aspect ratio, at least `ratio_min`",
            (s, k, a) => a with { RatioMax = s.Double(k, a.RatioMax, 0, 10, minExclusive: true) }, a => a.RatioMax),
        Augmentation("flip_probability", Number, "chance of a horizontal flip in training, in [0, 1]",
            (s, k, a) => a with { FlipProbability = s.Double(k, a.FlipProbability, 0, 1) }, a => a.FlipProbability),
        Augmentation("rotation_degrees", Number, "training rotation drawn from ±this many degrees (black corners, as torchvision), 0..180",
            (s, k, a) => a with { RotationDegrees = s.Double(k, a.RotationDegrees, 0, 180) }, a => a.RotationDegrees),
        Augmentation("eval_resize", OneOf(EvalResizes), "evaluation: `stretch` to the square (the seed's Resize((224, 224))) or `center_crop` (keep aspect, centre 87.5%)",
            (s, k, a) => a with { EvalResize = s.Choice(k, a.EvalResize, EvalResizes) }, a => NameOf(EvalResizes, a.EvalResize)),
        Augmentation("eval_flip", Bool, "test-time augmentation: every evaluation (validation, the linear probe's features, `test`, `predict` on a checkpoint) averages each image's outputs with its mirror image's; twice the evaluation compute",
            (s, k, a) => a with { EvalFlip = s.Bool(k, a.EvalFlip) }, a => a.EvalFlip),

        Model("backbone", "one of " + string.Join(", ", ModelConfig.Backbones.Select(b => "`" + b + "`")), "`resnet18`, `resnet34`, `resnet50`, `resnet101` or `resnet152` (torchvision layout)",
            (s, k, m) => m with { Backbone = s.Choice(k, m.Backbone, ModelConfig.Backbones.ToDictionary(b => b, b => b)) }, m => m.Backbone) with { HParam = true },
        Model("pretrained", Bool, "start from ImageNet weights; `false` trains from random initialisation",
            (s, k, m) => m with { Pretrained = s.Bool(k, m.Pretrained) }, m => m.Pretrained) with { HParam = true },
        Model("num_classes", Whole, "classes of the new classifier; must equal the number of class folders",
            (s, k, m) => m with { NumClasses = s.Int(k, m.NumClasses, 1) }, m => m.NumClasses),
        Model("weights", Text, "with `pretrained: true`: `auto` (torchvision's file if cached, else the bundled ResNet-18), `bundled`, `torchvision`, `download`, a path to a `.pth`/`.safetensors` state dict, or a path to a FineTune checkpoint (`.ckpt`) to keep training a model you made: a new run from its weights and preprocessing, keeping its head when the classes are the same (see [Continuing from a checkpoint](#continuing-from-a-checkpoint))",
            (s, k, m) => m with { Weights = s.String(k, m.Weights) }, m => m.Weights) with { New = true },

        Training("num_epochs", Whole, "epochs to train; 0 with `linear_probe_epochs` > 0: the linear probe alone (its model is checkpoint_best, epoch 0)",
            (s, k, t) => t with { NumEpochs = s.Int(k, t.NumEpochs, 0) }, t => t.NumEpochs) with { HParam = true },
        Training("optimizer", OneOf(Optimizers), "`sgd`, `adam` or `adamw`",
            (s, k, t) => t with { Optimizer = s.Choice(k, t.Optimizer, Optimizers) }, t => NameOf(Optimizers, t.Optimizer)) with { HParam = true },
        Training("base_lr", Number, "learning rate of the backbone, in (0, 10]",
            (s, k, t) => t with { BaseLr = s.Double(k, t.BaseLr, 0, 10, minExclusive: true) }, t => t.BaseLr) with { HParam = true },
        Training("fc_lr_multiplier", Number, "the classifier learns at `base_lr` x this (the seed's fine-tune recipe: 10)",
            (s, k, t) => t with { FcLrMultiplier = s.Double(k, t.FcLrMultiplier, 0, 10_000, minExclusive: true) }, t => t.FcLrMultiplier) with { HParam = true },
        Training("weight_decay", Number, "L2 (sgd, adam) or decoupled (adamw) weight decay, in [0, 1]",
            (s, k, t) => t with { WeightDecay = s.Double(k, t.WeightDecay, 0, 1) }, t => t.WeightDecay) with { HParam = true },
        Training("beta1", Number, "Adam/AdamW first-moment decay rate, in [0, 1)",
            (s, k, t) => t with { Beta1 = s.Double(k, t.Beta1, 0, 1, maxExclusive: true) }, t => t.Beta1),
        Training("beta2", Number, "Adam/AdamW second-moment decay rate, in [0, 1)",
            (s, k, t) => t with { Beta2 = s.Double(k, t.Beta2, 0, 1, maxExclusive: true) }, t => t.Beta2),
        Training("eps", Number, "Adam/AdamW denominator term, > 0",
            (s, k, t) => t with { Eps = s.Double(k, t.Eps, 0, 1, minExclusive: true) }, t => t.Eps),
        Training("momentum", Number, "SGD momentum, in [0, 1)",
            (s, k, t) => t with { Momentum = s.Double(k, t.Momentum, 0, 1, maxExclusive: true) }, t => t.Momentum),
        Training("nesterov", Bool, "SGD Nesterov momentum (needs momentum > 0)",
            (s, k, t) => t with { Nesterov = s.Bool(k, t.Nesterov) }, t => t.Nesterov),
        Training("scheduler", OneOf(Schedulers), "`step` (x `factor` every `step_size` epochs), `cosine` (to 0 over `num_epochs`, one rate per epoch as PyTorch's CosineAnnealingLR stepped each epoch), `cosine_per_step` (the same curve, a new rate at every step: a one-epoch run anneals within its epoch), `reduce_lr_on_plateau` (x `factor` after `patience` epochs without a better validation accuracy), `none`",
            (s, k, t) => t with { Scheduler = s.Choice(k, t.Scheduler, Schedulers) }, t => SchedulerName(t.Scheduler)) with { HParam = true },
        Training("patience", Whole, "epochs without improvement before reduce_lr_on_plateau lowers the rate",
            (s, k, t) => t with { Patience = s.Int(k, t.Patience, 0) }, t => t.Patience),
        Training("factor", Number, "decay factor of `step` and `reduce_lr_on_plateau`, in (0, 1)",
            (s, k, t) => t with { Factor = s.Double(k, t.Factor, 0, 1, minExclusive: true, maxExclusive: true) }, t => t.Factor),
        Training("early_stopping", Whole, "stop after this many epochs without a better validation accuracy; `0` turns it off",
            (s, k, t) => t with { EarlyStopping = s.Int(k, t.EarlyStopping, 0) }, t => t.EarlyStopping),
        Training("step_size", Whole + " or null", "epochs between decays of the `step` scheduler (the seed's value by default)",
            (s, k, t) => t with { StepSize = s.IntOrNull(k, 1) }, t => t.StepSize) with
        {
            New = true, DefaultDoc = "`num_epochs / 3`",
            Note = c => c.Training.StepSize is null ? $"num_epochs / 3 = {c.Training.EffectiveStepSize}" : null,
        },
        Training("label_smoothing", Number, "cross-entropy label smoothing for training, in [0, 1)",
            (s, k, t) => t with { LabelSmoothing = s.Double(k, t.LabelSmoothing, 0, 1, maxExclusive: true) }, t => t.LabelSmoothing) with { New = true, HParam = true },
        Training("warmup_epochs", Whole, "epochs over which rates ramp linearly (per step) up to their scheduled value",
            (s, k, t) => t with { WarmupEpochs = s.Int(k, t.WarmupEpochs, 0) }, t => t.WarmupEpochs) with { New = true },
        Training("freeze_backbone_epochs", Whole, "first epochs in which only the classifier trains (backbone rate 0, no backbone gradients)",
            (s, k, t) => t with { FreezeBackboneEpochs = s.Int(k, t.FreezeBackboneEpochs, 0) }, t => t.FreezeBackboneEpochs) with { New = true },
        Training("linear_probe_epochs", Whole, "before epoch 1, train the classifier alone for this many epochs on features of the frozen pretrained backbone, computed once for the training and validation images (no augmentation); the probe's validation accuracy is printed. Seconds instead of minutes per head epoch, and fine-tuning then starts from a trained head",
            (s, k, t) => t with { LinearProbeEpochs = s.Int(k, t.LinearProbeEpochs, 0, 10_000) }, t => t.LinearProbeEpochs) with { New = true },
        Training("linear_probe_lr", Number, "AdamW rate of the linear probe (cosine to 0 over its epochs, batch 64, the run's weight decay and label smoothing)",
            (s, k, t) => t with { LinearProbeLr = s.Double(k, t.LinearProbeLr, 0, 10, minExclusive: true) }, t => t.LinearProbeLr) with { New = true },
        Training("freeze_stages", Whole, "the stem (conv1, bn1) and this many of the four stages (`layer1`..`layer4`) never train, 0..4: no backward pass through them (faster steps) and their BatchNorm statistics stay as pretrained",
            (s, k, t) => t with { FreezeStages = s.Int(k, t.FreezeStages, 0, 4) }, t => t.FreezeStages) with { New = true },
        Training("freeze_batchnorm", Bool, "BatchNorm layers use their (pretrained) running statistics while training and do not update them; their scale and shift still learn. Steadier with small batches",
            (s, k, t) => t with { FreezeBatchNorm = s.Bool(k, t.FreezeBatchNorm) }, t => t.FreezeBatchNorm) with { New = true },
        Training("cache_activations", Bool, "keep the frozen stages' output (needs freeze_stages 1 or more) for each training image's first-epoch view in memory, and train epochs 2 on from it: no loading, decoding or frozen forward pass after epoch 1, at the price of seeing epoch 1's augmented views again. Used only when it fits a third of the available memory; the run says which",
            (s, k, t) => t with { CacheActivations = s.Bool(k, t.CacheActivations) }, t => t.CacheActivations) with { New = true },
        Training("linear_probe_from_cache", Bool, "the linear probe trains on epoch 1's augmented views instead of a pass of its own over the unaugmented images: one pass of the frozen stages fills the activation cache (needs cache_activations) and runs on through the pretrained rest for the probe's features, and every epoch then trains from the cache. Saves the probe's own pass over the training images",
            (s, k, t) => t with { LinearProbeFromCache = s.Bool(k, t.LinearProbeFromCache) }, t => t.LinearProbeFromCache) with { New = true },
        Training("linear_probe_validate", Bool, "score the linear probe on the validation images and print it (a pass over them at the evaluation size); `false` skips that pass when epochs follow, since epoch 1 validates anyway. A probe-only run (num_epochs 0) is always scored: its probe is the result",
            (s, k, t) => t with { LinearProbeValidate = s.Bool(k, t.LinearProbeValidate) }, t => t.LinearProbeValidate) with { New = true },
        Training("linear_probe_flip", Bool, "with `data.augmentation.eval_flip: true`, the linear probe's features (training and validation) are each image's averaged with its mirror image's, as evaluation sees them; `false` computes them from each image once, half the probe's compute, while validation after epochs, `test` and `predict` still use mirror images. Without eval_flip it changes nothing",
            (s, k, t) => t with { LinearProbeFlip = s.Bool(k, t.LinearProbeFlip) }, t => t.LinearProbeFlip) with { New = true },
        Training("linear_probe_refit_with_val", Bool, "the probe that ends the run (a probe-only run's, num_epochs 0, or `refit_head`'s) is scored on the validation images, then fitted again from zero, with the same settings, on the training and validation features together, and that second fit is kept: half again as many examples for the final classifier at the cost of one more fit (seconds), as a model selected on validation is refitted on all the labelled data (scikit-learn's `refit`). The validation accuracy printed and kept is the first fit's, on images it had not seen; the kept model has seen them, so only `test` measures it. With epochs and without `refit_head` it is refused: the epochs would validate on images the head has seen",
            (s, k, t) => t with { LinearProbeRefitWithVal = s.Bool(k, t.LinearProbeRefitWithVal) }, t => t.LinearProbeRefitWithVal) with { New = true },
        Training("refit_head", Bool, "after the last epoch, fit the head again from zero as the linear probe fits it (linear_probe_epochs, linear_probe_lr, linear_probe_flip) on the fine-tuned backbone's features of the unaugmented training images at `eval_image_size`, and score it on validation as the epochs were scored (with mirror images when `eval_flip`; the last epoch's validation features are reused); it becomes checkpoint_best when it scores higher than the best epoch. Why: the epochs train the head on augmented crops at `image_size`, while evaluation sees whole photos at `eval_image_size`, and a head fitted on what evaluation sees fixes that mismatch (FixRes, Touvron et al. 2019). Costs one feature pass over the training images. Needs num_epochs 1 or more and linear_probe_epochs",
            (s, k, t) => t with { RefitHead = s.Bool(k, t.RefitHead) }, t => t.RefitHead) with { New = true },
        Training("channels_last", Bool, "feed the network channels-last (NHWC) batches: libtorch's CPU convolutions (oneDNN) then keep that layout through the network instead of converting at every layer",
            (s, k, t) => t with { ChannelsLast = s.Bool(k, t.ChannelsLast) }, t => t.ChannelsLast) with { New = true },
        Training("precision", OneOf(Precisions), "`fp32`, `bf16`, `auto` or `fp64`. `bf16` runs convolutions and the classifier in bfloat16 as `torch.autocast('cpu', dtype=torch.bfloat16)` does (BatchNorm statistics, loss, softmax, the fp32 master weights, the optimiser and checkpoints stay fp32), in training, validation, the linear probe, `test` and `predict`. `auto` picks bf16 only where this CPU runs it faster than fp32 (`amx_bf16`, or `avx512_bf16` on AMD; an Intel CPU with `avx512_bf16` but no AMX measured slower in bf16) and the kernel check has not failed it. `--precision` on `train`, `test`, `predict` and `bench` overrides it; every run prints which precision it uses and why. TensorBoard's hparams log the precision the run computed in (auto resolved). `fp64` is for verification, not speed: parameters, activations, gradients, optimiser state and checkpoints all in float64 (several times slower), so that two computations of the same function (say 2 ranks against 1 process) agree to ~1e-12 whatever the CPU's rounding; `test` and `predict` of such a checkpoint run in fp32 unless `--precision fp64`",
            (s, k, t) => t with { Precision = s.Choice(k, t.Precision, Precisions) }, t => t.Precision.ToName()) with { New = true, HParam = true },
        Training("eval_engine", OneOf(EvalEngines), "what runs evaluation (validation, the linear probe's feature pass, `test`, `predict`): `auto` and `onnxruntime` run fp32 evaluation on the CPU with ONNX Runtime over the model's exported graph (faster than libtorch on the CPUs measured: docs/throughput.md), checked against libtorch on the first batch of every pass (a disagreement beyond 1e-4 of the largest output switches back to libtorch for the rest of the process, with a warning); bf16, fp64 and GPU runs always use libtorch. `torch`: libtorch only",
            (s, k, t) => t with { EvalEngine = s.Choice(k, t.EvalEngine, EvalEngines) }, t => t.EvalEngine.ToName()) with { New = true },
        Training("grad_clip", Number, "clip the global gradient norm to this value; `0` is off",
            (s, k, t) => t with { GradClip = s.Double(k, t.GradClip, 0, double.PositiveInfinity) }, t => t.GradClip) with { New = true },
        Training("threads", Whole, "CPU threads for tensor maths; `0` keeps libtorch's default (one per core)",
            (s, k, t) => t with { Threads = s.Int(k, t.Threads, 0, 1024) }, t => t.Threads) with { New = true },
        Training("sync_batchnorm", Bool, "with `--distributed`: synchronised BatchNorm (statistics over all ranks' batches) instead of per-rank BatchNorm as DDP does",
            (s, k, t) => t with { SyncBatchNorm = s.Bool(k, t.SyncBatchNorm) }, t => t.SyncBatchNorm) with { New = true },

        Experiment("name", Text, "run name: folders `checkpoint_dir/<name>` and `log_dir/<name>`; `--experiment_name` overrides it",
            (s, k, e) => e with { Name = s.String(k, e.Name) }, e => e.Name),
        Experiment("checkpoint_dir", "path", "where checkpoints go",
            (s, k, e) => e with { CheckpointDir = s.String(k, e.CheckpointDir) }, e => e.CheckpointDir),
        Experiment("log_dir", "path", "where TensorBoard event files go (`tensorboard --logdir outputs/logs`)",
            (s, k, e) => e with { LogDir = s.String(k, e.LogDir) }, e => e.LogDir),
        Experiment("save_best_only", Bool, "keep `checkpoint_best.ckpt` and the last epoch's checkpoint only",
            (s, k, e) => e with { SaveBestOnly = s.Bool(k, e.SaveBestOnly) }, e => e.SaveBestOnly),
        Experiment("save_every", Whole, "with `save_best_only: false`, also keep every N-th epoch's checkpoint",
            (s, k, e) => e with { SaveEvery = s.Int(k, e.SaveEvery, 1) }, e => e.SaveEvery),
        Experiment("export_pytorch", Bool, "also write the best model as `checkpoint_best.pth` (a PyTorch state dict with torchvision's key names) and `checkpoint_best.json` (architecture, preprocessing, eval resize, classes); `tools/pytorch/load_export.py` rebuilds the network from both",
            (s, k, e) => e with { ExportPytorch = s.Bool(k, e.ExportPytorch) }, e => e.ExportPytorch) with { New = true },
    ];

    public static string SchedulerName(SchedulerKind kind) => NameOf(Schedulers, kind);

    /// <summary>
    /// TensorBoard's hparams: the keys marked <see cref="ConfigKey.HParam"/>, whole numbers as doubles (the HParams tab
    /// plots numbers as doubles). <paramref name="precision"/> replaces the configured one: what the run computed in, auto resolved.
    /// </summary>
    public static Dictionary<string, object> HParams(FineTuneConfig config, string precision) =>
        All.Where(k => k.HParam).ToDictionary(k => k.Name, k => k.Name == "precision" ? precision : k.Value(config) switch
        {
            int i => (double)i,
            { } v => v,
            null => "null",
        });
}
