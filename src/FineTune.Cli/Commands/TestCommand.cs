using System.Diagnostics;
using FineTune.Comparison;
using FineTune.Config;
using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Native;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune test --config F --model_path P [--experiment_name N] [--gpu 0] [--output_dir D]`: the seed's test.py.
/// Evaluates a checkpoint on the test split it was trained with and writes the report into D/&lt;experiment&gt;.
/// </summary>
public static class TestCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string>();
    public const string DefaultOutputDir = "outputs/test_reports";

    public static int Run(CommandLine cl)
    {
        var configPath = cl.Require("config", "the YAML config the model was trained with, e.g. configs/resnet18_finetune.yaml");
        var modelPath = cl.Require("model_path", "the checkpoint to test, e.g. outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt");
        var experimentName = cl.Get("experiment_name");
        var gpu = cl.Get("gpu");
        var outputDir = cl.Get("output_dir") ?? DefaultOutputDir;
        var precisionText = cl.Get("precision");
        cl.RejectUnknown("test");

        var config = ConfigLoader.Load(configPath);
        var precision = PrecisionOption.Read(precisionText) ?? config.Training.Precision;
        var experiment = experimentName ?? config.Experiment.Name;
        if (!ExperimentConfig.IsFolderName(experiment))
            throw new UsageException($"--experiment_name '{experiment}' cannot be a folder name: use letters, digits, '-' and '_'.");
        var checkpoint = CheckpointFile.Load(modelPath);
        checkpoint.EnsureMatches(config.Model.Backbone, config.Model.NumClasses, $"the config {configPath}");
        var reportDir = Path.Combine(outputDir, experiment);
        // Before the model runs: a report that cannot be written is worth knowing about before the evaluation, not after.
        OutputFolders.EnsureWritable(reportDir, "--output_dir");

        KernelSetup.Prepare(config, training: false);
        TorchNative.EnsureLoaded();
        var device = TrainCommand.ChooseDevice(gpu);
        var preprocessing = checkpoint.Info.Preprocessing ?? Preprocessing.ImageNet;
        int imageSize = config.Data.EvalSizeFor(preprocessing.InputSize);
        if (config.Training.Threads > 0) set_num_threads(config.Training.Threads);

        using var model = checkpoint.CreateModel();
        model.to(device);
        model.eval();
        PrecisionOption.Apply(model, precision, device, Console.Out);
        Console.WriteLine($"Testing {modelPath} ({checkpoint.Info.Backbone}, epoch {checkpoint.Info.Epoch}, {checkpoint.Info.NumClasses} classes) on {device}.");

        var clock = Stopwatch.StartNew();
        var samples = config.Data.Source == DataSource.Synthetic
            ? TestSynthetic(config, checkpoint, model, preprocessing, imageSize, device)
            : TestFolder(config, checkpoint, model, preprocessing, imageSize, device);
        clock.Stop();

        var report = new TestReport(checkpoint.Info.ClassNames, samples, clock.Elapsed, experiment, modelPath);
        var written = report.WriteTo(reportDir);
        Console.Write(report.SummaryText());
        Console.WriteLine($"Report: {reportDir} ({string.Join(", ", written.Select(Path.GetFileName))})");
        RecordTestAccuracy(checkpoint, report.Summary.Accuracy);
        return 0;
    }

    /// <summary>The test split of the experiment's split.json (saved beside the checkpoint by `finetune train`), checked against checkpoint and files.</summary>
    static List<SamplePrediction> TestFolder(FineTuneConfig config, CheckpointFile checkpoint, ResNet model, Preprocessing preprocessing, int imageSize, Device device)
    {
        TrainingDataFactory.EnsureDatasetPresent(config);
        var experimentDir = Path.GetDirectoryName(Path.GetFullPath(checkpoint.Path))!;
        var splitPath = Path.Combine(experimentDir, SplitManifest.FileName);
        if (!File.Exists(splitPath))
            throw new CheckpointException($"No {SplitManifest.FileName} beside checkpoint '{checkpoint.Path}': the test split is the one `finetune train` saved in the experiment folder; keep the checkpoint in its experiment folder (experiment.checkpoint_dir/<name>/) together with {SplitManifest.FileName}.");
        var manifest = SplitManifest.Load(splitPath);
        if (FolderTrainingData.ManifestHash(experimentDir) != checkpoint.Info.SplitManifestHash)
            throw new CheckpointException($"'{splitPath}' is not the split checkpoint '{checkpoint.Path}' was trained on (the split hashes differ): restore the experiment's original {SplitManifest.FileName}, or test a checkpoint of the run that made this split.");
        if (!manifest.Classes.SequenceEqual(checkpoint.Info.ClassNames))
            throw new CheckpointException($"'{splitPath}' lists other classes than checkpoint '{checkpoint.Path}': restore the experiment's original {SplitManifest.FileName}.");
        // Names every missing or edited file: a test set that silently changed would make the accuracy meaningless.
        manifest.Verify(config.Data.DataDir);

        var dataset = ImageDataset.FromManifest(manifest, config.Data.DataDir, Split.Test);
        var options = new LoaderOptions(BatchSize: config.Data.BatchSize, NumWorkers: Math.Max(1, config.Data.NumWorkers), Shuffle: false, Seed: (ulong)config.Data.Seed);
        using var loader = new DataLoader(dataset, FolderTrainingData.EvalTransformFor(config, imageSize), preprocessing, options);
        Console.WriteLine($"Test split: {dataset.Count} images in {manifest.Classes.Count} classes from {config.Data.DataDir} ({splitPath}).");
        var samples = new List<SamplePrediction>(dataset.Count);
        EvalPass.ForInference(model, device).Run(loader.Epoch(0), (batch, logits) =>
        {
            var probabilities = EvalPass.Probabilities(logits);
            for (int i = 0; i < batch.Count; i++)
                samples.Add(new SamplePrediction(batch.Paths[i], dataset.Samples[batch.Indices[i]].Label, probabilities[i]));
        });
        foreach (var problem in loader.Problems)
            Console.Error.WriteLine($"warning: left out {problem.RelativePath}: {problem.Reason}");
        if (samples.Count == 0)
            throw new DatasetException($"None of the {dataset.Count} test images of '{splitPath}' could be read; run `finetune data verify --data_dir {config.Data.DataDir}`.");
        return samples;
    }

    /// <summary>A synthetic run's held-out test images: the same generator and parameters, a seed used neither for training nor validation.</summary>
    static List<SamplePrediction> TestSynthetic(FineTuneConfig config, CheckpointFile checkpoint, ResNet model, Preprocessing preprocessing, int imageSize, Device device)
    {
        var d = config.Data;
        var classes = config.Model.NumClasses;
        if (SyntheticImages.Hash(classes, d.SyntheticImagesPerClass, imageSize, d.Seed) != checkpoint.Info.SplitManifestHash)
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was not trained on the synthetic data {config.Source} describes (data.seed, data.synthetic_images_per_class, data.image_size and model.num_classes must be as in training): test with the config of that run.");
        using var test = SyntheticImages.Test(classes, d.SyntheticImagesPerClass, imageSize, d.BatchSize, d.Seed, preprocessing);
        Console.WriteLine($"Test split: {test.ImageCount} synthetic images in {classes} classes (held out: drawn with a seed used neither for training nor validation).");
        var samples = new List<SamplePrediction>(test.ImageCount);
        EvalPass.ForInference(model, device).Run(test.Epoch(1), (batch, logits) =>
        {
            var probabilities = EvalPass.Probabilities(logits);
            var labels = batch.Labels.data<long>().ToArray();
            for (int i = 0; i < labels.Length; i++)
            {
                int label = (int)labels[i];
                samples.Add(new SamplePrediction($"synthetic/test/{checkpoint.Info.ClassNames[label]}/{samples.Count:00000}", label, probabilities[i]));
            }
        });
        return samples;
    }

    /// <summary>
    /// Adds the test accuracy to the experiment's results.json (beside the checkpoint), which `finetune compare` reads;
    /// only for the best checkpoint, since results.json reports the best epoch.
    /// </summary>
    static void RecordTestAccuracy(CheckpointFile checkpoint, double accuracy)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(checkpoint.Path))!;
        var path = Path.Combine(folder, ResultsFile.FileName);
        if (!File.Exists(path)) return;
        var result = ResultsFile.Read(path);
        if (checkpoint.Info.Epoch != result.BestEpoch)
        {
            Console.WriteLine($"Not added to {path}: it reports best epoch {result.BestEpoch}, this checkpoint is epoch {checkpoint.Info.Epoch} (test checkpoint_best.ckpt for the results table).");
            return;
        }
        ResultsFile.Write(folder, result with { TestAccuracy = accuracy });
        Console.WriteLine($"Test accuracy added to {path}.");
    }
}
