using System.Globalization;
using FineTune.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FineTune.Config;

/// <summary>Reads a seed-style YAML config into <see cref="FineTuneConfig"/>, validating every key at the edge.</summary>
public static class ConfigLoader
{
    public static FineTuneConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new ConfigException($"Config file '{path}' not found: pass --config with a YAML file such as configs/resnet18_finetune.yaml.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses YAML text; <paramref name="source"/> names it in messages.</summary>
    public static FineTuneConfig Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e)
        {
            throw new ConfigException($"{source}:{e.Start.Line}: not valid YAML ({e.InnerException?.Message ?? e.Message}).");
        }
        YamlMappingNode? root = null;
        if (stream.Documents.Count > 1)
            throw new ConfigException($"{source}: holds {stream.Documents.Count} YAML documents; a config is one.");
        if (stream.Documents.Count == 1)
        {
            var node = stream.Documents[0].RootNode;
            root = node as YamlMappingNode;
            if (root is null && !(node is YamlScalarNode { Value: null or "" }))
                throw new ConfigException($"{source}:{node.Start.Line}: a config is a mapping with sections data, model, training, experiment.");
        }
        var top = new YamlSection(root, source, "", 1);
        var config = new FineTuneConfig(
            ReadData(top.Section("data")),
            ReadModel(top.Section("model")),
            ReadTraining(top.Section("training")),
            ReadExperiment(top.Section("experiment"))) { Source = source };
        top.RejectUnknown();
        return config;
    }

    static DataConfig ReadData(YamlSection s)
    {
        var d = new DataConfig();
        var aug = s.Section("augmentation");
        var a = new AugmentationConfig();
        a = a with
        {
            ScaleMin = aug.Double("scale_min", a.ScaleMin, 0, 1, minExclusive: true),
            ScaleMax = aug.Double("scale_max", a.ScaleMax, 0, 1, minExclusive: true),
            RatioMin = aug.Double("ratio_min", a.RatioMin, 0, 10, minExclusive: true),
            RatioMax = aug.Double("ratio_max", a.RatioMax, 0, 10, minExclusive: true),
            FlipProbability = aug.Double("flip_probability", a.FlipProbability, 0, 1),
            RotationDegrees = aug.Double("rotation_degrees", a.RotationDegrees, 0, 180),
            EvalResize = aug.Choice("eval_resize", a.EvalResize, new Dictionary<string, EvalResize> { ["stretch"] = EvalResize.Stretch, ["center_crop"] = EvalResize.CenterCrop }),
        };
        if (a.ScaleMin > a.ScaleMax) throw aug.Error(null, "scale_min", $"must not exceed scale_max; got {a.ScaleMin} > {a.ScaleMax}.");
        if (a.RatioMin > a.RatioMax) throw aug.Error(null, "ratio_min", $"must not exceed ratio_max; got {a.RatioMin} > {a.RatioMax}.");
        aug.RejectUnknown();
        d = d with
        {
            DataDir = s.String("data_dir", d.DataDir),
            TrainSize = s.Double("train_size", d.TrainSize, 0, 1, minExclusive: true),
            ValSize = s.Double("val_size", d.ValSize, 0, 1, minExclusive: true),
            TestSize = s.Double("test_size", d.TestSize, 0, 1, minExclusive: true),
            BatchSize = s.Int("batch_size", d.BatchSize, 1),
            NumWorkers = s.Int("num_workers", d.NumWorkers, 0),
            Seed = s.Int("seed", d.Seed, 0),
            Source = s.Choice("source", d.Source, new Dictionary<string, DataSource> { ["folder"] = DataSource.Folder, ["synthetic"] = DataSource.Synthetic }),
            ImageSize = s.IntOrNull("image_size", 32, 1024),
            EvalImageSize = s.IntOrNull("eval_image_size", 32, 1024),
            CacheImages = s.Bool("cache_images", d.CacheImages),
            SyntheticImagesPerClass = s.Int("synthetic_images_per_class", d.SyntheticImagesPerClass, 4),
            Augmentation = a,
        };
        // Checked here, not when the split is made: a sum below 1 would otherwise surface only after the weights load.
        double sum = d.TrainSize + d.ValSize + d.TestSize;
        if (Math.Abs(sum - 1) > 1e-6)
            throw s.ErrorAtKey("train_size", $"+ val_size + test_size must sum to 1; got {sum.ToString("0.######", CultureInfo.InvariantCulture)}. Every image goes to one split: adjust the three fractions.");
        s.RejectUnknown();
        return d;
    }

    static ModelConfig ReadModel(YamlSection s)
    {
        var m = new ModelConfig();
        var backbones = ModelFactory.Backbones.Keys.ToDictionary(k => k, k => k);
        m = m with
        {
            Backbone = s.Choice("backbone", m.Backbone, backbones),
            Pretrained = s.Bool("pretrained", m.Pretrained),
            NumClasses = s.Int("num_classes", m.NumClasses, 1),
            Weights = s.String("weights", m.Weights),
        };
        s.RejectUnknown();
        return m;
    }

    static TrainingConfig ReadTraining(YamlSection s)
    {
        var t = new TrainingConfig();
        t = t with
        {
            NumEpochs = s.Int("num_epochs", t.NumEpochs, 1),
            Optimizer = s.Choice("optimizer", t.Optimizer, new Dictionary<string, OptimizerKind>
            {
                ["sgd"] = OptimizerKind.Sgd, ["adam"] = OptimizerKind.Adam, ["adamw"] = OptimizerKind.AdamW,
            }),
            BaseLr = s.Double("base_lr", t.BaseLr, 0, 10, minExclusive: true),
            FcLrMultiplier = s.Double("fc_lr_multiplier", t.FcLrMultiplier, 0, 10_000, minExclusive: true),
            WeightDecay = s.Double("weight_decay", t.WeightDecay, 0, 1),
            Beta1 = s.Double("beta1", t.Beta1, 0, 1, maxExclusive: true),
            Beta2 = s.Double("beta2", t.Beta2, 0, 1, maxExclusive: true),
            Eps = s.Double("eps", t.Eps, 0, 1, minExclusive: true),
            Momentum = s.Double("momentum", t.Momentum, 0, 1, maxExclusive: true),
            Nesterov = s.Bool("nesterov", t.Nesterov),
            Scheduler = s.Choice("scheduler", t.Scheduler, new Dictionary<string, SchedulerKind>
            {
                ["step"] = SchedulerKind.Step, ["cosine"] = SchedulerKind.Cosine,
                ["reduce_lr_on_plateau"] = SchedulerKind.ReduceLrOnPlateau, ["none"] = SchedulerKind.None,
            }),
            Patience = s.Int("patience", t.Patience, 0),
            Factor = s.Double("factor", t.Factor, 0, 1, minExclusive: true, maxExclusive: true),
            EarlyStopping = s.Int("early_stopping", t.EarlyStopping, 0),
            StepSize = s.IntOrNull("step_size", 1),
            LabelSmoothing = s.Double("label_smoothing", t.LabelSmoothing, 0, 1, maxExclusive: true),
            WarmupEpochs = s.Int("warmup_epochs", t.WarmupEpochs, 0),
            FreezeBackboneEpochs = s.Int("freeze_backbone_epochs", t.FreezeBackboneEpochs, 0),
            LinearProbeEpochs = s.Int("linear_probe_epochs", t.LinearProbeEpochs, 0, 10_000),
            LinearProbeLr = s.Double("linear_probe_lr", t.LinearProbeLr, 0, 10, minExclusive: true),
            FreezeStages = s.Int("freeze_stages", t.FreezeStages, 0, 4),
            FreezeBatchNorm = s.Bool("freeze_batchnorm", t.FreezeBatchNorm),
            ChannelsLast = s.Bool("channels_last", t.ChannelsLast),
            Precision = s.Choice("precision", t.Precision, new Dictionary<string, Models.PrecisionSetting>
            {
                ["auto"] = Models.PrecisionSetting.Auto, ["fp32"] = Models.PrecisionSetting.Fp32, ["bf16"] = Models.PrecisionSetting.Bf16,
            }),
            GradClip = s.Double("grad_clip", t.GradClip, 0, double.PositiveInfinity),
            Threads = s.Int("threads", t.Threads, 0, 1024),
            SyncBatchNorm = s.Bool("sync_batchnorm", t.SyncBatchNorm),
        };
        if (t.Nesterov && t.Optimizer == OptimizerKind.Sgd && t.Momentum == 0)
            throw s.Error(null, "nesterov", "needs momentum > 0 (as in PyTorch's SGD).");
        s.RejectUnknown();
        return t;
    }

    static ExperimentConfig ReadExperiment(YamlSection s)
    {
        var e = new ExperimentConfig();
        e = e with
        {
            Name = s.String("name", e.Name),
            CheckpointDir = s.String("checkpoint_dir", e.CheckpointDir),
            LogDir = s.String("log_dir", e.LogDir),
            SaveBestOnly = s.Bool("save_best_only", e.SaveBestOnly),
            SaveEvery = s.Int("save_every", e.SaveEvery, 1),
            ExportPytorch = s.Bool("export_pytorch", e.ExportPytorch),
        };
        if (!ExperimentConfig.IsFolderName(e.Name))
            throw s.Error(null, "name", $"'{e.Name}' cannot be a folder name: use letters, digits, '-' and '_'.");
        s.RejectUnknown();
        return e;
    }
}
