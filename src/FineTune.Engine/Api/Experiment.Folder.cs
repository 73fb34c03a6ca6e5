using System.Diagnostics;
using System.Text.RegularExpressions;
using FineTune.Config;
using FineTune.Data;
using FineTune.Export;
using FineTune.IO;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using FineTune.Planning;
using FineTune.Training;
using static TorchSharp.torch;
using FineTune.Logging;

namespace FineTune;

public static partial class Experiment
{
    /// <summary>The resolved config a folder run writes into its experiment folder (train it again with `finetune train --config`).</summary>
    public const string FolderConfigFile = "config.yaml";

    /// <summary>The exported model a folder run writes into its experiment folder.</summary>
    public const string FolderOnnxFile = "model.onnx";

    /// <summary>
    /// `finetune train --data_dir PHOTOS`: from a folder of photos (one subfolder per class) to a tested model, its
    /// report.html and model.onnx, inside <see cref="FolderRunOptions.TimeBudget"/>. It checks and splits the folder,
    /// measures this machine's step times, plans image size and epochs to fit the budget (<see cref="RunPlanner"/>),
    /// writes the resolved config, trains, tests the best checkpoint and exports it.
    /// </summary>
    /// <exception cref="DatasetException">The folder cannot be trained on (one class, too few images, none...): nothing is written.</exception>
    /// <exception cref="TimeBudgetException">The budget is too small even for the smallest run: nothing is written; the message says the least that works.</exception>
    public static FolderRunResult TrainOnFolder(string dataDir, FolderRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var started = DateTime.UtcNow;
        options ??= new FolderRunOptions();
        var log = new LoggerWriter(options.Logger);
        if (options.TimeBudget <= TimeSpan.Zero)
            throw new TimeBudgetException($"The time budget must be positive; got {options.TimeBudget}: give e.g. --time_budget 10m.");
        if (!Directory.Exists(dataDir))
            throw new DatasetException($"Photo folder '{dataDir}' does not exist: pass a folder holding one subfolder of images per class (PHOTOS/<class>/<image>).");
        var data = Path.GetFullPath(dataDir);
        var name = options.ExperimentName ?? FreshExperimentName(data, Path.Combine(options.OutputRoot, "checkpoints"));
        var config = AutoRecipe.ForFolder(data, name, options.OutputRoot, options.Backbone, options.Weights);

        // The folder is checked and split before anything is measured or written: a folder train cannot use is refused with nothing left behind.
        var d = config.Data;
        var (manifest, scan) = SplitManifest.Prepare(config.Experiment.RunCheckpointDir, data, new SplitRatios(d.TrainSize, d.ValSize, d.TestSize), (ulong)d.Seed);
        int Count(Split s) => manifest.Of(s).Count();
        foreach (var line in new PreparedSplit(manifest, scan).Notes()) log.WriteLine(line);
        log.WriteLine($"Photos: {manifest.Entries.Count:N0} in {manifest.Classes.Count} classes under {data}; split {Count(Split.Train)}/{Count(Split.Val)}/{Count(Split.Test)} (train/val/test, seed {d.Seed}).");

        // Step times of this machine, on kernels the check has verified (it routes around faulty ones before anything computes).
        bool gpu = options.Gpu is not null;
        var measuring = AutoRecipe.Apply(config, new RunPlan(MachineCosts.ReferenceSize, MachineCosts.ReferenceSize, 1, gpu, default, default, default, default, default, default, ""), manifest.Classes.Count);
        // Checked quietly (a check that runs still says so): train and test each print the plan they run under, once.
        var kernels = KernelCheck.Prepare(KernelRequest.ForConfig(measuring, training: true), log.WriteLine).Routing();
        TorchNative.EnsureLoaded();
        var device = ModelSetup.SelectDevice(options.Gpu);
        var precision = Precision.ForThisMachine(measuring.Training.Precision, kernels, onCpu: device.type == TorchSharp.DeviceType.CPU).Precision;
        var costs = MachineCosts.Measure(options.Backbone, manifest.Classes.Count, measuring.Training.FreezeStages, measuring.Training.ChannelsLast, precision, device, SamplePhotos(manifest, data), kernels, measuring.Training.EvalEngine);
        var request = new PlanRequest(Count(Split.Train), Count(Split.Val), Count(Split.Test), MedianShortSide(scan),
            costs, options.TimeBudget, clock.Elapsed, gpu, options.Epochs, options.ImageSize);
        var plan = RunPlanner.Plan(request);
        log.WriteLine(plan.Summary());

        // The planned sizes' kernel checks now (train's and test's; cached after), so their time is known before the epochs are fixed.
        config = AutoRecipe.Apply(config, plan, manifest.Classes.Count);
        KernelCheck.Prepare(KernelRequest.ForConfig(config, training: true), log.WriteLine);
        KernelCheck.Prepare(KernelRequest.ForConfig(config, training: false), log.WriteLine);
        var checkedPlan = RunPlanner.AfterSpending(plan, request with { Spent = clock.Elapsed });
        static string Stages(RunPlan p) => (p.Epochs == 0 ? "the linear probe alone" : $"{p.Epochs} epoch{(p.Epochs == 1 ? "" : "s")}") + (p.Mirrored ? " with mirror images" : "");
        if (checkedPlan.Epochs != plan.Epochs || checkedPlan.Mirrored != plan.Mirrored)
            log.WriteLine($"Plan: {Stages(checkedPlan)} instead of {Stages(plan)}: checking the kernels for these sizes took {RunPlan.Clock(checkedPlan.Spent - plan.Spent)} of the budget.");
        plan = checkedPlan;
        config = AutoRecipe.Apply(config, plan, manifest.Classes.Count);
        var runDir = config.Experiment.RunCheckpointDir;
        OutputFolders.EnsureWritable(runDir, "the output folder");
        if (scan is not null) manifest.Save(runDir);
        var configPath = Path.Combine(runDir, FolderConfigFile);
        AtomicWrite.Text(configPath, $"# Written by `finetune train --data_dir {dataDir}` ({plan.Summary()})\n# Train it again: finetune train --config {configPath}\n" + ConfigPrinter.ToYaml(config));
        config = ConfigLoader.Load(configPath); // what a rerun reads is what this run trains with
        log.WriteLine($"Config: {configPath}");

        // Epochs stop where the rest (test, report, export) would no longer fit; epochs the user asked for are all run.
        DateTime? deadline = options.Epochs is null ? plan.EpochDeadline(started) : null;
        var training = Train(config, new TrainOptions { Gpu = options.Gpu, Logger = options.Logger, Progress = options.Progress, ListenForStop = options.ListenForStop, StopReason = options.StopReason, EpochDeadline = deadline }, cancellationToken);
        if (training.Outcome is TrainingOutcome.Interrupted or TrainingOutcome.Diverged || training.BestCheckpoint is null)
            return new FolderRunResult(plan, configPath, training, null, null, clock.Elapsed);

        var test = Test(config, training.BestCheckpoint, new TestOptions { OutputDir = Path.Combine(options.OutputRoot, "test_reports"), Gpu = options.Gpu, Logger = options.Logger, Progress = options.Progress });
        var onnx = ModelExport.Run(training.BestCheckpoint, Path.Combine(runDir, FolderOnnxFile), ExportFormat.Onnx, overwrite: true)[0];
        var result = new FolderRunResult(plan, configPath, training, test, onnx, clock.Elapsed);
        log.WriteLine($"Done in {RunPlan.Clock(clock.Elapsed)} (budget {RunPlan.Clock(options.TimeBudget)}): test accuracy {test.Report.Summary.Accuracy * 100:0.00}%; report {result.ReportPath}; model {onnx}.");
        var pth = Path.ChangeExtension(training.BestCheckpoint, ".pth");
        log.WriteLine("Next:");
        log.WriteLine($"  finetune predict --model_path {onnx} PHOTO.jpg                    # classify new photos");
        log.WriteLine($"  dotnet run --project samples/OnnxClassify -- {onnx} PHOTO.jpg   # the same from your own C# app (ONNX Runtime)");
        if (File.Exists(pth)) log.WriteLine($"  python3 tools/pytorch/load_export.py {pth} PHOTO.jpg   # load it in PyTorch");
        return result;
    }

    /// <summary>The folder's name as an experiment name (letters, digits, '-', '_'), with -2, -3... when that experiment exists.</summary>
    static string FreshExperimentName(string data, string checkpointDir)
    {
        var stem = Regex.Replace(Path.GetFileName(data.TrimEnd(Path.DirectorySeparatorChar)), "[^A-Za-z0-9_-]", "_");
        if (stem.Trim('_').Length == 0) stem = "photos";
        var name = stem;
        for (int n = 2; Directory.Exists(Path.Combine(checkpointDir, name)); n++) name = $"{stem}-{n}";
        return name;
    }

    /// <summary>Up to 24 photos spread over the folder (every k-th of the split's list), to time decoding the user's own files.</summary>
    static List<string> SamplePhotos(SplitManifest manifest, string data)
    {
        int step = Math.Max(1, manifest.Entries.Count / 24);
        return manifest.Entries.Where((_, i) => i % step == 0).Take(24).Select(e => Path.Combine(data, e.Path)).ToList();
    }

    /// <summary>The photos' median shorter side from the scan; a reused split has no scan, and 200 px (Caltech-101's) is assumed.</summary>
    static int MedianShortSide(DatasetScan? scan)
    {
        if (scan is null || scan.Images.Count == 0) return 200;
        var sides = scan.Images.Select(i => Math.Min(i.Width, i.Height)).Order().ToList();
        return sides[sides.Count / 2];
    }
}
