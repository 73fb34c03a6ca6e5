using System.Globalization;
using System.Text;

namespace FineTune.Config;

/// <summary>
/// Writes a config back as YAML with every key resolved (defaults filled in), in the seed's layout.
/// `finetune train --dry-run` prints it, and checkpoints store it, so a run can always be reproduced.
/// </summary>
public static class ConfigPrinter
{
    public static string ToYaml(FineTuneConfig c)
    {
        var sb = new StringBuilder();
        void Section(string name) => sb.Append(name).Append(":\n");
        void Key(string key, object? value, int indent = 2, string? note = null)
        {
            sb.Append(' ', indent).Append(key).Append(": ").Append(Format(value));
            if (note is not null) sb.Append("  # ").Append(note);
            sb.Append('\n');
        }

        Section("data");
        Key("data_dir", c.Data.DataDir);
        Key("train_size", c.Data.TrainSize);
        Key("val_size", c.Data.ValSize);
        Key("test_size", c.Data.TestSize);
        Key("batch_size", c.Data.BatchSize);
        Key("num_workers", c.Data.NumWorkers);
        Key("seed", c.Data.Seed);
        Key("source", c.Data.Source == DataSource.Folder ? "folder" : "synthetic");
        Key("image_size", c.Data.ImageSize, note: c.Data.ImageSize is null ? "the weights' input size (224 for ImageNet ResNets)" : null);
        Key("eval_image_size", c.Data.EvalImageSize, note: c.Data.EvalImageSize is null ? "image_size" : null);
        Key("cache_images", c.Data.CacheImages);
        Key("synthetic_images_per_class", c.Data.SyntheticImagesPerClass);
        sb.Append("  augmentation:\n");
        Key("scale_min", c.Data.Augmentation.ScaleMin, 4);
        Key("scale_max", c.Data.Augmentation.ScaleMax, 4);
        Key("ratio_min", c.Data.Augmentation.RatioMin, 4);
        Key("ratio_max", c.Data.Augmentation.RatioMax, 4);
        Key("flip_probability", c.Data.Augmentation.FlipProbability, 4);
        Key("rotation_degrees", c.Data.Augmentation.RotationDegrees, 4);
        Key("eval_resize", c.Data.Augmentation.EvalResize == EvalResize.Stretch ? "stretch" : "center_crop", 4);

        Section("\nmodel");
        Key("backbone", c.Model.Backbone);
        Key("pretrained", c.Model.Pretrained);
        Key("num_classes", c.Model.NumClasses);
        Key("weights", c.Model.Weights);

        var t = c.Training;
        Section("\ntraining");
        Key("num_epochs", t.NumEpochs);
        Key("optimizer", t.Optimizer.ToString().ToLowerInvariant());
        Key("base_lr", t.BaseLr);
        Key("fc_lr_multiplier", t.FcLrMultiplier);
        Key("weight_decay", t.WeightDecay);
        Key("beta1", t.Beta1);
        Key("beta2", t.Beta2);
        Key("eps", t.Eps);
        Key("momentum", t.Momentum);
        Key("nesterov", t.Nesterov);
        Key("scheduler", SchedulerName(t.Scheduler));
        Key("patience", t.Patience);
        Key("factor", t.Factor);
        Key("early_stopping", t.EarlyStopping);
        Key("step_size", t.StepSize, note: t.StepSize is null ? $"num_epochs / 3 = {t.EffectiveStepSize}" : null);
        Key("label_smoothing", t.LabelSmoothing);
        Key("warmup_epochs", t.WarmupEpochs);
        Key("freeze_backbone_epochs", t.FreezeBackboneEpochs);
        Key("linear_probe_epochs", t.LinearProbeEpochs);
        Key("linear_probe_lr", t.LinearProbeLr);
        Key("freeze_stages", t.FreezeStages);
        Key("freeze_batchnorm", t.FreezeBatchNorm);
        Key("channels_last", t.ChannelsLast);
        Key("precision", Models.Precision.ToName(t.Precision));
        Key("grad_clip", t.GradClip);
        Key("threads", t.Threads);
        Key("sync_batchnorm", t.SyncBatchNorm);

        var e = c.Experiment;
        Section("\nexperiment");
        Key("name", e.Name);
        Key("checkpoint_dir", e.CheckpointDir);
        Key("log_dir", e.LogDir);
        Key("save_best_only", e.SaveBestOnly);
        Key("save_every", e.SaveEvery);
        Key("export_pytorch", e.ExportPytorch);
        return sb.ToString();
    }

    public static string SchedulerName(SchedulerKind kind) => kind switch
    {
        SchedulerKind.Step => "step",
        SchedulerKind.Cosine => "cosine",
        SchedulerKind.ReduceLrOnPlateau => "reduce_lr_on_plateau",
        _ => "none",
    };

    static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e"),
        int i => i.ToString(CultureInfo.InvariantCulture),
        string s => Quoted(s) ? "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"" : s,
        _ => value.ToString() ?? "",
    };

    /// <summary>Plain words and paths print bare; anything YAML could read as another type or as syntax is quoted.</summary>
    static bool Quoted(string s) =>
        s.Length == 0 || !s.All(ch => char.IsLetterOrDigit(ch) || ch is '_' or '-' or '.' or '/') || !char.IsLetter(s[0]) && s[0] is not ('.' or '/' or '_')
        || s.ToLowerInvariant() is "true" or "false" or "yes" or "no" or "on" or "off" or "null" or "y" or "n";
}
