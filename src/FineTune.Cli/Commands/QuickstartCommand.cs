using FineTune.Config;
using FineTune.Data;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune quickstart [--data_dir DIR] [--out outputs/quickstart] [--epochs N]`: the whole story in a few minutes
/// on a laptop CPU, with no dataset and no network: a small image set (ten Caltech-101 classes when
/// data/caltech-101 is there, else synthetic JPEG/PNG images), ResNet-18 fine-tuned from the bundled ImageNet
/// weights and trained from scratch with the same budget, both tested, and the seed's comparison table.
/// </summary>
public static class QuickstartCommand
{
    const string CaltechDir = "data/caltech-101/101_ObjectCategories";
    const int CaltechClasses = 10;

    public static int Run(CommandLine cl)
    {
        var dataDir = cl.Get("data_dir");
        var outDir = cl.Get("out") ?? "outputs/quickstart";
        int epochs = cl.GetInt("epochs", 4);
        cl.RejectUnknown("quickstart");
        if (epochs < 1) throw new UsageException($"--epochs must be at least 1; got {epochs}.");

        dataDir ??= Directory.Exists(CaltechDir) ? CaltechSubset(CaltechDir, Path.Combine(outDir, "caltech10")) : Synthetic(Path.Combine(outDir, "data"));
        int classes = DatasetScanClasses(dataDir);
        Console.WriteLine($"Quickstart: {classes} classes from {dataDir}; outputs in {outDir}.");

        var configs = Path.Combine(outDir, "configs");
        Directory.CreateDirectory(configs);
        var finetune = Write(configs, Recipe(dataDir, outDir, classes, epochs, pretrained: true));
        var scratch = Write(configs, Recipe(dataDir, outDir, classes, epochs, pretrained: false));
        // Read back from the files written, as `finetune train --config` would read them.
        return CompareCommand.TrainTestAndCompare([ConfigLoader.Load(finetune), ConfigLoader.Load(scratch)], outDir, Path.Combine(outDir, "compare"));
    }

    /// <summary>
    /// Same data, epochs and schedule for both; the finetune run starts from ImageNet weights with a 10x faster
    /// head (as the seed) that a linear probe on frozen features has trained first (seconds: features of a few
    /// hundred small images, as configs/resnet18_fast_cpu.yaml does); the scratch run needs a larger rate to move at
    /// all in a few epochs.
    /// </summary>
    static FineTuneConfig Recipe(string dataDir, string outDir, int classes, int epochs, bool pretrained)
    {
        var name = pretrained ? "quickstart_resnet18_finetune" : "quickstart_resnet18_scratch";
        var d = FineTuneConfig.Defaults;
        return d with
        {
            Data = d.Data with { DataDir = dataDir, BatchSize = 16, NumWorkers = 2, ImageSize = 112, Seed = 42 },
            Model = d.Model with { Backbone = "resnet18", Pretrained = pretrained, NumClasses = classes },
            Training = d.Training with
            {
                NumEpochs = epochs, Optimizer = OptimizerKind.AdamW, BaseLr = pretrained ? 1e-4 : 1e-3,
                FcLrMultiplier = pretrained ? 10 : 1, LinearProbeEpochs = pretrained ? 30 : 0, Scheduler = SchedulerKind.Cosine, LabelSmoothing = 0.1, EarlyStopping = 0,
            },
            Experiment = d.Experiment with
            {
                Name = name, CheckpointDir = Path.Combine(outDir, "checkpoints"), LogDir = Path.Combine(outDir, "logs"),
                SaveBestOnly = true, ExportPytorch = false,
            },
        };
    }

    static string Write(string folder, FineTuneConfig config)
    {
        var path = Path.Combine(folder, config.Experiment.Name + ".yaml");
        File.WriteAllText(path, "# Written by `finetune quickstart`; run it again with `finetune train --config " + path + "`.\n" + ConfigPrinter.ToYaml(config));
        return path;
    }

    static string Synthetic(string folder)
    {
        if (!Directory.Exists(folder) || !Directory.EnumerateDirectories(folder).Any())
        {
            SyntheticDataset.Write(folder, classes: 5, perClass: 40);
            Console.WriteLine($"No Caltech-101 at {CaltechDir} (get it with `finetune data prepare`): using synthetic images in {folder}.");
        }
        return folder;
    }

    /// <summary>
    /// Ten Caltech-101 classes of 40-100 images (first in name order), linked, not copied, into
    /// <paramref name="folder"/>: enough for pretraining to show, small enough for minutes on two cores.
    /// </summary>
    static string CaltechSubset(string caltech, string folder)
    {
        Directory.CreateDirectory(folder);
        var picked = Directory.GetDirectories(caltech)
            .Where(d => Path.GetFileName(d) != ScanOptions.BackgroundClass)
            .Select(d => (Dir: d, Count: Directory.GetFiles(d).Length))
            .Where(c => c.Count is >= 40 and <= 100)
            .OrderBy(c => Path.GetFileName(c.Dir), StringComparer.Ordinal)
            .Take(CaltechClasses).ToList();
        if (picked.Count < 2) return Synthetic(Path.Combine(Path.GetDirectoryName(folder)!, "data"));
        foreach (var (dir, _) in picked)
        {
            var link = Path.Combine(folder, Path.GetFileName(dir));
            if (!Directory.Exists(link)) Directory.CreateSymbolicLink(link, Path.GetFullPath(dir));
        }
        Console.WriteLine($"Using {picked.Count} Caltech-101 classes from {caltech}: {string.Join(", ", picked.Select(p => Path.GetFileName(p.Dir)))}.");
        return folder;
    }

    static int DatasetScanClasses(string dataDir) =>
        Directory.Exists(dataDir)
            ? Directory.GetDirectories(dataDir).Count(d => Path.GetFileName(d) != ScanOptions.BackgroundClass)
            : throw new DirectoryNotFoundException($"Data folder '{dataDir}' does not exist: pass --data_dir with one subfolder of images per class, or leave it out for synthetic data.");
}
