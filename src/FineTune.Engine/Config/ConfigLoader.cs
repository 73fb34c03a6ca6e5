using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FineTune.Config;

/// <summary>
/// Reads a seed-style YAML config into <see cref="FineTuneConfig"/>, validating every key at the edge. The keys, their
/// types and ranges are <see cref="ConfigKeys.All"/>; this file holds the walk over the sections and the checks that span keys.
/// </summary>
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
        var config = FineTuneConfig.Defaults with { Source = source };
        foreach (var section in ConfigKeys.Sections.Where(name => !name.Contains('.')))
            config = ReadSection(top.Section(section), section, config);
        top.RejectUnknown();
        return config;
    }

    /// <summary>Reads the nested sections first, then the section's own keys (<see cref="ConfigKeys.All"/>), then the checks that span keys.</summary>
    static FineTuneConfig ReadSection(YamlSection s, string section, FineTuneConfig config)
    {
        foreach (var nested in ConfigKeys.Sections.Where(name => name.StartsWith(section + ".", StringComparison.Ordinal)))
            config = ReadSection(s.Section(nested[(section.Length + 1)..]), nested, config);
        foreach (var key in ConfigKeys.In(section))
            config = key.Read(s, config);
        Check(s, section, config);
        s.RejectUnknown();
        return config;
    }

    static void Check(YamlSection s, string section, FineTuneConfig config)
    {
        switch (section)
        {
            case "data.augmentation":
                var a = config.Data.Augmentation;
                if (a.ScaleMin > a.ScaleMax) throw s.Error(null, "scale_min", $"must not exceed scale_max; got {a.ScaleMin} > {a.ScaleMax}.");
                if (a.RatioMin > a.RatioMax) throw s.Error(null, "ratio_min", $"must not exceed ratio_max; got {a.RatioMin} > {a.RatioMax}.");
                break;
            case "data":
                // Checked here, not when the split is made: a sum below 1 would otherwise surface only after the weights load.
                var d = config.Data;
                double sum = d.TrainSize + d.ValSize + d.TestSize;
                if (Math.Abs(sum - 1) > 1e-6)
                    throw s.ErrorAtKey("train_size", $"+ val_size + test_size must sum to 1; got {sum.ToString("0.######", CultureInfo.InvariantCulture)}. Every image goes to one split: adjust the three fractions.");
                if (d.ImageSizeStart is { } first)
                {
                    int last = d.ImageSize ?? 224; // the weights' size when image_size is null: every backbone here is an ImageNet ResNet
                    if (first > last)
                        throw s.ErrorAtKey("image_size_start", $"is {first}, above the size it rises to (image_size {last}): a resolution schedule starts small. Lower image_size_start, or remove it to train every epoch at image_size.");
                    if (d.Source == DataSource.Synthetic)
                        throw s.ErrorAtKey("image_size_start", "needs source: folder (synthetic images are drawn at one size). Remove image_size_start.");
                }
                break;
            case "training":
                var t = config.Training;
                if (t.Nesterov && t.Optimizer == OptimizerKind.Sgd && t.Momentum == 0)
                    throw s.Error(null, "nesterov", "needs momentum > 0 (as in PyTorch's SGD).");
                if (t.CacheActivations && t.FreezeStages == 0)
                    throw s.Error(null, "cache_activations", "needs freeze_stages 1 or more: only the output of stages that never train can be kept. Set freeze_stages (2 keeps the stem, layer1 and layer2), or cache_activations: false.");
                if (t.CacheActivations && config.Data.ImageSizeStart is not null)
                    throw s.ErrorAtKey("cache_activations", "replays epoch 1's views at epoch 1's size, and data.image_size_start changes the size each epoch: use one of the two.");
                if (t.LinearProbeFromCache && !t.CacheActivations)
                    throw s.ErrorAtKey("linear_probe_from_cache", "needs cache_activations: true (the probe's features come from the pass that fills the cache). Set cache_activations: true, or linear_probe_from_cache: false.");
                if (t.LinearProbeFromCache && t.LinearProbeEpochs == 0)
                    throw s.ErrorAtKey("linear_probe_from_cache", "is true but linear_probe_epochs is 0: there is no probe to feed. Set linear_probe_epochs (30 in configs/resnet18_fast_cpu.yaml), or remove linear_probe_from_cache.");
                if (t.LinearProbeRefitWithVal && t.NumEpochs > 0 && !t.RefitHead)
                    throw s.ErrorAtKey("linear_probe_refit_with_val", $"needs num_epochs: 0 (it is {t.NumEpochs}) or refit_head: true: epochs after a probe refitted on the validation images would validate on images the head has seen. Set num_epochs: 0 for a probe-only run, refit_head: true to refit the head that ends the run, or remove linear_probe_refit_with_val.");
                if (t.RefitHead && t.NumEpochs == 0)
                    throw s.ErrorAtKey("refit_head", "needs num_epochs 1 or more: it fits the head again after the last epoch, and a probe-only run's probe is already fitted on features at the evaluation size. Remove refit_head, or set num_epochs.");
                if (t.RefitHead && t.LinearProbeEpochs == 0)
                    throw s.ErrorAtKey("refit_head", "fits the head with the linear probe's settings, but linear_probe_epochs is 0. Set linear_probe_epochs (30 in configs/resnet18_fast_cpu.yaml), or remove refit_head.");
                if (t.LinearProbeRefitWithVal && t.LinearProbeEpochs == 0)
                    throw s.ErrorAtKey("linear_probe_refit_with_val", "is true but linear_probe_epochs is 0: there is no probe to refit. Set linear_probe_epochs (30 in configs/resnet18_probe_cpu.yaml), or remove linear_probe_refit_with_val.");
                if (t.NumEpochs == 0 && t.LinearProbeEpochs == 0)
                    throw s.Error(null, "num_epochs", "is 0 and so is linear_probe_epochs: that trains nothing. Set num_epochs to 1 or more, or linear_probe_epochs above 0 for a run that fits the classifier alone on frozen features.");
                break;
            case "experiment":
                var e = config.Experiment;
                if (!ExperimentConfig.IsFolderName(e.Name))
                    throw s.Error(null, "name", $"'{e.Name}' cannot be a folder name: use letters, digits, '-' and '_'.");
                break;
        }
    }
}
