using System.Diagnostics;
using FineTune.Comparison;
using FineTune.Config;
using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Export;
using FineTune.Kernels;
using FineTune.Logging;
using FineTune.Models;
using FineTune.Native;
using FineTune.Reports;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune;

public static partial class Experiment
{
    /// <summary>
    /// Evaluates the checkpoint at <paramref name="checkpointPath"/> on the test split it was trained with, as
    /// `finetune test` (the seed's test.py) does: writes the classification report, confusion matrix and misclassified
    /// files into &lt;OutputDir&gt;/&lt;experiment&gt;, and adds the test accuracy to the experiment's results.json when
    /// the checkpoint is its best epoch.
    /// </summary>
    /// <param name="config">The config the model was trained with (its data section names the test split).</param>
    /// <exception cref="CheckpointException">The checkpoint does not match the config, or its split has changed.</exception>
    public static TestResult Test(FineTuneConfig config, string checkpointPath, TestOptions? options = null)
    {
        var wall = Stopwatch.StartNew();
        options ??= new TestOptions();
        var log = new LoggerWriter(options.Logger);
        var progress = new ProgressReporter(log, options.Progress, log);
        var precision = options.Precision ?? config.Training.Precision;
        var experiment = options.ExperimentName ?? config.Experiment.Name;
        var checkpoint = CheckpointFile.Load(checkpointPath);
        checkpoint.EnsureMatches(config.Model.Backbone, config.Model.NumClasses, $"the config {config.Source}");
        var reportDir = Path.Combine(options.OutputDir, experiment);
        // Before the model runs: a report that cannot be written is worth knowing about before the evaluation, not after.
        OutputFolders.EnsureWritable(reportDir, "--output_dir");

        var plan = KernelCheck.PrepareAndReport(KernelRequest.ForConfig(config, training: false), log);
        TorchNative.EnsureLoaded();
        var device = ModelSetup.SelectDevice(options.Gpu);
        var preprocessing = checkpoint.Info.Preprocessing ?? Preprocessing.ImageNet;
        int imageSize = config.Data.EvalSizeFor(preprocessing.InputSize);
        if (config.Training.Threads > 0) set_num_threads(config.Training.Threads);

        using var model = checkpoint.CreateModel(plan.Routing());
        model.to(device);
        model.eval();
        var precisionChoice = PrecisionSetup.Apply(model, precision, device, log.WriteLine);
        log.WriteLine($"Testing {checkpointPath} ({checkpoint.Info.Backbone}, epoch {checkpoint.Info.Epoch}, {checkpoint.Info.NumClasses} classes) on {device}.");

        var engine = OnnxRuntimeEngine.For(config.Training.EvalEngine, log.WriteLine);
        var clock = Stopwatch.StartNew();
        var pass = config.Data.Source == DataSource.Synthetic
            ? TestSynthetic(config, checkpoint, model, preprocessing, imageSize, device, engine, progress)
            : TestFolder(config, checkpoint, model, preprocessing, imageSize, device, engine, progress);
        clock.Stop();

        var report = new TestReport(checkpoint.Info.ClassNames, pass.Samples, clock.Elapsed, experiment, checkpointPath);
        var written = TestReportFiles.Write(report, reportDir).ToList();
        var heatmaps = GradCamFor(config, pass, checkpoint.Info.ClassNames, model, preprocessing, imageSize, device, log);
        var card = RunCardFor(checkpoint, pass, plan, precisionChoice, device, wall.Elapsed) with
        {
            Experiment = experiment,
            Evaluation = engine is null ? "libtorch (training.eval_engine: torch)"
                : engine.Outcome ?? $"libtorch ({engine.CannotRun(model, device) ?? "no batch to compare"})",
        };
        written.Add(WriteHtmlReport(reportDir, report, card, checkpoint, pass.ImageFile, heatmaps));
        log.Write(report.SummaryText());
        log.WriteLine($"Report: {reportDir} ({string.Join(", ", written.Select(Path.GetFileName))})");
        RecordTestAccuracy(checkpoint, report.Summary.Accuracy, log);
        return new TestResult(report, reportDir, [.. written]);
    }

    /// <summary>The test split of the experiment's split.json (saved beside the checkpoint by training), checked against checkpoint and files.</summary>
    static TestPass TestFolder(FineTuneConfig config, CheckpointFile checkpoint, ResNet model, Preprocessing preprocessing, int imageSize, Device device, IEvalEngine? engine, ProgressReporter progress)
    {
        FolderTrainingData.EnsureDatasetPresent(config);
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
        progress.Line($"Test split: {dataset.Count} images in {manifest.Classes.Count} classes from {config.Data.DataDir} ({splitPath}).");
        var samples = new List<SamplePrediction>(dataset.Count);
        var step = TestSteps(progress, loader.BatchesPerEpoch(0));
        EvalPass.ForInference(model, device, engine, config.Data.Augmentation.EvalFlip).Run(loader.Epoch(0), (batch, logits) =>
        {
            step(batch.Count);
            var probabilities = EvalPass.Probabilities(logits);
            for (int i = 0; i < batch.Count; i++)
                samples.Add(new SamplePrediction(batch.Paths[i], dataset.Samples[batch.Indices[i]].Label, probabilities[i]));
        });
        foreach (var problem in loader.Problems)
            progress.Warning($"warning: left out {problem.RelativePath}: {problem.Reason}");
        if (samples.Count == 0)
            throw new DatasetException($"None of the {dataset.Count} test images of '{splitPath}' could be read; run `finetune data verify --data_dir {config.Data.DataDir}`.");
        var dataDir = config.Data.DataDir;
        return new TestPass(samples, manifest.Of(Split.Train).Count(), manifest.Of(Split.Val).Count(), dataDir,
            path => Path.Combine(dataDir, path));
    }

    /// <summary>A synthetic run's held-out test images: the same generator and parameters, a seed used neither for training nor validation.</summary>
    static TestPass TestSynthetic(FineTuneConfig config, CheckpointFile checkpoint, ResNet model, Preprocessing preprocessing, int imageSize, Device device, IEvalEngine? engine, ProgressReporter progress)
    {
        var d = config.Data;
        var classes = config.Model.NumClasses;
        if (SyntheticImages.Hash(classes, d.SyntheticImagesPerClass, imageSize, d.Seed) != checkpoint.Info.SplitManifestHash)
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was not trained on the synthetic data {config.Source} describes (data.seed, data.synthetic_images_per_class, data.image_size and model.num_classes must be as in training): test with the config of that run.");
        using var test = SyntheticImages.Test(classes, d.SyntheticImagesPerClass, imageSize, d.BatchSize, d.Seed, preprocessing);
        progress.Line($"Test split: {test.ImageCount} synthetic images in {classes} classes (held out: drawn with a seed used neither for training nor validation).");
        var samples = new List<SamplePrediction>(test.ImageCount);
        var step = TestSteps(progress, test.BatchCount);
        EvalPass.ForInference(model, device, engine, config.Data.Augmentation.EvalFlip).Run(test.Epoch(1), (batch, logits) =>
        {
            step(batch.Count);
            var probabilities = EvalPass.Probabilities(logits);
            var labels = batch.Labels.data<long>().ToArray();
            for (int i = 0; i < labels.Length; i++)
            {
                int label = (int)labels[i];
                samples.Add(new SamplePrediction($"synthetic/test/{checkpoint.Info.ClassNames[label]}/{samples.Count:00000}", label, probabilities[i]));
            }
        });
        // Synthetic images are drawn in memory: there is no file to show, and the report says so.
        return new TestPass(samples, classes * d.SyntheticImagesPerClass, test.ImageCount, "synthetic images", _ => null,
            NoImageFiles: "synthetic images are drawn in memory, so there are no image files to draw heatmaps over");
    }

    /// <summary>The test pass's progress: one <see cref="ProgressPhase.Test"/> update per batch (images per second since the first).</summary>
    static Action<int> TestSteps(ProgressReporter progress, int batches)
    {
        progress.StartPhase(ProgressPhase.Test, "Test", batches);
        var clock = Stopwatch.StartNew();
        int done = 0;
        long seen = 0;
        return count =>
        {
            seen += count;
            done++;
            progress.Step(done, double.NaN, double.NaN, seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed, done);
        };
    }

    /// <summary>
    /// Adds the test accuracy to the experiment's results.json (beside the checkpoint), which the comparison reads;
    /// only for the best checkpoint, since results.json reports the best epoch.
    /// </summary>
    static void RecordTestAccuracy(CheckpointFile checkpoint, double accuracy, TextWriter log)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(checkpoint.Path))!;
        var path = Path.Combine(folder, ResultsFile.FileName);
        if (!File.Exists(path)) return;
        var result = ResultsFile.Read(path);
        if (checkpoint.Info.Epoch != result.BestEpoch)
        {
            log.WriteLine($"Not added to {path}: it reports best epoch {result.BestEpoch}, this checkpoint is epoch {checkpoint.Info.Epoch} (test checkpoint_best.ckpt for the results table).");
            return;
        }
        ResultsFile.Write(folder, result with { TestAccuracy = accuracy });
        log.WriteLine($"Test accuracy added to {path}.");
    }
}
