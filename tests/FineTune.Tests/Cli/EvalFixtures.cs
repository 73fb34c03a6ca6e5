using FineTune.Comparison;
using FineTune.Config;
using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Tests.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using static TorchSharp.torch;

namespace FineTune.Tests.Cli;

/// <summary>
/// A finished experiment on a tiny image folder, as `finetune train` leaves it: a folder dataset written by
/// `finetune data synth` (3 classes x 12 images, 32 px), and in the experiment folder split.json, a checkpoint
/// (one-block-per-stage ResNet with seeded random weights, written with the engine's checkpoint API: seconds
/// faster than training, and the report files do not care how good the model is) and results.json.
/// <c>classes</c> and <c>perClass</c> size the folder; <c>arrangeData</c> may change it (rename a class) before the split is made.
/// </summary>
sealed class FolderExperiment
{
    public const int Classes = 3, PerClass = 12, Size = 32;
    public string Root { get; }
    public int ClassCount { get; }
    public string DataDir => Path.Combine(Root, "data");
    public string ExperimentDir => Path.Combine(Root, "ckpt", "folder_run");
    public string CheckpointPath => Path.Combine(ExperimentDir, "checkpoint_best.ckpt");
    public string ConfigPath => Path.Combine(Root, "folder.yaml");
    public SplitManifest Manifest => SplitManifest.Load(ExperimentDir);

    /// <param name="trained">False: only the data and the config, for a test that trains with `finetune train` itself.</param>
    public FolderExperiment(bool trained = true, int classes = Classes, int perClass = PerClass, Action<string>? arrangeData = null)
    {
        Root = Tiny.TempFolder();
        ClassCount = classes;
        FinetuneProgram.Run(Root, "data", "synth", "--out", DataDir, "--classes", $"{classes}", "--per-class", $"{perClass}", "--size", $"{Size}").Succeeded();
        arrangeData?.Invoke(DataDir);
        File.WriteAllText(ConfigPath, Yaml());
        if (!trained) return;
        var config = ConfigLoader.Load(ConfigPath);
        var manifest = SplitManifest.LoadOrCreate(ExperimentDir, DataDir, new SplitRatios(config.Data.TrainSize, config.Data.ValSize, config.Data.TestSize), (ulong)config.Data.Seed);
        SaveCheckpoint(CheckpointPath, config, manifest.Classes, FolderTrainingData.ManifestHash(ExperimentDir));
        ResultsFile.Write(ExperimentDir, RunResult.FromHistory("folder_run", "resnet18", TrainingMode.Scratch,
            [new EpochRecord(1, 1.0, 0.5, 1.1, 0.4)], 12.5));
    }

    public string Yaml(int? numClasses = null, string backbone = "resnet18") =>
        $"data:\n  data_dir: {DataDir}\n  batch_size: 8\n  num_workers: 1\n  image_size: {Size}\n  seed: 7\n" +
        $"model:\n  backbone: {backbone}\n  pretrained: false\n  num_classes: {numClasses ?? ClassCount}\n" +
        $"training:\n  num_epochs: 1\n  threads: 1\n" +
        $"experiment:\n  name: folder_run\n  checkpoint_dir: {Path.Combine(Root, "ckpt")}\n  log_dir: {Path.Combine(Root, "logs")}\n  export_pytorch: false\n";

    /// <summary>A checkpoint of a small ResNet with seeded random weights, for <paramref name="classNames"/> and the split <paramref name="splitHash"/>.</summary>
    public static void SaveCheckpoint(string path, FineTuneConfig config, IReadOnlyList<string> classNames, string splitHash)
    {
        random.manual_seed(11);
        using var model = new ResNet(Tiny.Architecture, classNames.Count, TestSetup.Routing);
        var info = new CheckpointInfo
        {
            Reason = "best",
            Epoch = 1,
            BestEpoch = 1,
            BestValAccuracy = 0.4,
            Backbone = config.Model.Backbone,
            Block = Tiny.Architecture.Block,
            Layers = Tiny.Architecture.Layers,
            NumClasses = classNames.Count,
            Optimizer = "AdamW",
            ConfigYaml = ConfigPrinter.ToYaml(config),
            ClassNames = [.. classNames],
            Preprocessing = Preprocessing.ImageNet,
            Evaluation = EvaluationSettings.For(config, Preprocessing.ImageNet),
            StartingWeights = "trained from scratch (random init)",
            SplitManifestHash = splitHash,
        };
        CheckpointFile.Save(path, info, model, null);
    }
}
