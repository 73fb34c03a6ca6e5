using System.Globalization;
using FineTune.Config;
using FineTune.Training.Checkpoints;

namespace FineTune.Reports;

/// <summary>
/// How a checkpoint's model was trained, in one line for the run card: read off the resolved config the checkpoint keeps
/// (<see cref="CheckpointInfo.ConfigYaml"/>). Only the optimizer is stored beside it; a checkpoint whose config is missing
/// or unreadable by this version gets that and a sentence saying what is not recorded, never a default passed off as fact.
/// </summary>
public static class RunRecipe
{
    public static string Of(CheckpointInfo info)
    {
        var why = "the checkpoint holds no config";
        if (!string.IsNullOrWhiteSpace(info.ConfigYaml))
        {
            try { return Describe(ConfigLoader.Parse(info.ConfigYaml, "the checkpoint's config"), info); }
            catch (ConfigException e) { why = $"this version cannot read the checkpoint's config ({e.Message.TrimEnd('.')})"; }
        }
        return $"optimizer {info.Optimizer}; the rest of the recipe is not recorded: {why}";
    }

    /// <summary>The keys a recipe always states, as the config names them (so a reader can copy them into a config).</summary>
    static readonly string[] Always = ["optimizer", "base_lr", "fc_lr_multiplier", "weight_decay", "scheduler", "num_epochs", "linear_probe_epochs", "freeze_stages"];

    /// <summary>Training keys stated only when they differ from the default (most runs leave them off).</summary>
    static readonly string[] WhenSet = ["warmup_epochs", "freeze_backbone_epochs", "freeze_batchnorm", "cache_activations", "linear_probe_from_cache", "linear_probe_flip", "linear_probe_refit_with_val", "refit_head", "label_smoothing", "grad_clip"];

    /// <summary>The settings that make one recipe differ from another, as `key: value` from <see cref="ConfigKeys"/>; the image sizes resolved.</summary>
    static string Describe(FineTuneConfig config, CheckpointInfo info)
    {
        var training = ConfigKeys.In("training").ToDictionary(k => k.Name);
        string Pair(string key) => $"{key}: {Format(training[key].Value(config))}";
        var parts = Always.Select(Pair).ToList();
        parts.AddRange(WhenSet.Where(key => !Equals(training[key].Value(config), training[key].Value(FineTuneConfig.Defaults))).Select(Pair));
        int weightsSize = info.Preprocessing?.InputSize ?? 224;
        int evalSize = info.Evaluation?.ImageSize ?? config.Data.EvalSizeFor(weightsSize);
        parts.Add($"batch_size: {config.Data.BatchSize}");
        var schedule = config.Data.SizeScheduleFor(weightsSize, config.Training.NumEpochs);
        parts.Add($"image_size: {schedule?.ToString() ?? config.Data.TrainSizeFor(weightsSize).ToString(CultureInfo.InvariantCulture)} (evaluation {evalSize})");
        return string.Join(", ", parts);
    }

    static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
