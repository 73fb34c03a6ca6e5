using FineTune.Logging;
using FineTune.Config;
using FineTune.Planning;
using FineTune.Training.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace FineTune.Tests.Planning;

/// <summary>
/// `finetune train --data_dir PHOTOS` end to end on a small folder of real JPEGs (three classes of solid colours, so
/// the bundled ImageNet ResNet-18 separates them): plan, train, test, report, export; the config it writes repeats the run.
/// </summary>
[Xunit.Collection(RestoresKernelPlan.Collection)]
public sealed class FolderRunTests(ITestOutputHelper output) : RestoresKernelPlan
{
    [Fact]
    public void A_folder_of_photos_becomes_a_tested_model_a_report_an_onnx_file_and_a_config_that_repeats_the_run()
    {
        var photos = TestFiles.Dataset(12, 12, 12);
        var outputs = TestFiles.TempDir("folder-run");
        var log = new StringWriter();
        // 64 px keeps the kernel check and the epochs small; the planner still chooses the epochs. A generous budget: on a
        // loaded machine a first kernel check alone can take minutes, and the budget itself is the subject of another test.
        var result = Experiment.TrainOnFolder(photos, new FolderRunOptions
        {
            TimeBudget = TimeSpan.FromHours(2), ImageSize = 64, Weights = "bundled", OutputRoot = outputs, Logger = new PlainTextLogger(log),
        });
        output.WriteLine(log.ToString());

        Assert.Contains("Photos: 36 in 3 classes", log.ToString());
        Assert.Contains("Plan: linear probe on features at 64 px", log.ToString());
        Assert.Equal(RunPlanner.CpuEpochs, result.Plan.Epochs);
        Assert.Contains("Head refit", log.ToString()); // the epoch is followed by the head's refit at the evaluation size
        Assert.Equal(result.Plan.Epochs, result.Training.LastEpoch);
        Assert.NotNull(result.Test);
        Assert.True(File.Exists(result.ReportPath), "report.html");
        Assert.True(File.Exists(result.OnnxPath), "model.onnx");
        Assert.Equal(Path.Combine(outputs, "checkpoints", Path.GetFileName(photos), Experiment.FolderOnnxFile), result.OnnxPath);

        // The written config is the one trained: the checkpoint stores the resolved config it trained with.
        var best = CheckpointFile.Load(result.Training.BestCheckpoint!);
        Assert.Equal(best.Info.ConfigYaml, ConfigPrinter.ToYaml(ConfigLoader.Load(result.ConfigPath)));
        var config = ConfigLoader.Load(result.ConfigPath);
        Assert.Equal((64, 3, 2, true), (config.Data.EvalImageSize, config.Model.NumClasses, config.Training.FreezeStages, config.Training.LinearProbeEpochs > 0));

        // The next commands it prints work: the ONNX file classifies a photo into one of the folder's classes.
        Assert.Contains($"finetune predict --model_path {result.OnnxPath}", log.ToString());
        using var classifier = Classifier.Load(result.OnnxPath!);
        var top = classifier.Predict(Path.Combine(photos, "class1", "img000.jpg"), topK: 1);
        Assert.Contains(top[0].ClassName, new[] { "class0", "class1", "class2" });
        Assert.True(result.Test!.Report.Summary.Accuracy >= 0.66, $"test accuracy {result.Test.Report.Summary.Accuracy:P1}: chance is 33%"); // 9 test photos of plain colours at 64 px
    }

    [Fact]
    public void A_probe_alone_is_a_whole_run_and_a_second_run_continues_from_its_checkpoint_with_weights()
    {
        var photos = TestFiles.Dataset(12, 12, 12);
        var outputs = TestFiles.TempDir("folder-continue");
        FolderRunOptions Options(StringWriter log) => new() { TimeBudget = TimeSpan.FromHours(2), ImageSize = 64, Epochs = 1, Weights = "bundled", OutputRoot = outputs, Logger = new PlainTextLogger(log) };
        // --epochs 0: the probe alone, with mirror images (the budget has room), tested, reported and exported like any run.
        var firstLog = new StringWriter();
        var first = Experiment.TrainOnFolder(photos, Options(firstLog) with { Epochs = 0 });
        output.WriteLine(firstLog.ToString());
        Assert.Contains("Plan: linear probe alone on features at 64 px with mirror images", firstLog.ToString());
        Assert.Equal((0, true), (first.Plan.Epochs, ConfigLoader.Load(first.ConfigPath).Data.Augmentation.EvalFlip));
        Assert.NotNull(first.Test);
        Assert.True(File.Exists(first.OnnxPath), "model.onnx of the probe-only run");
        var log = new StringWriter();
        var second = Experiment.TrainOnFolder(photos, Options(log) with { Weights = first.Training.BestCheckpoint! });
        output.WriteLine(log.ToString());
        // A new experiment (the folder's name, then -2), starting from the first run's model with its head.
        Assert.Equal(Path.GetFileName(photos) + "-2", Path.GetFileName(Path.GetDirectoryName(second.ConfigPath)));
        Assert.Contains($"from checkpoint {first.Training.BestCheckpoint}", log.ToString());
        Assert.Contains("the same classes: its head is kept.", log.ToString());
        Assert.Equal(first.Training.BestCheckpoint, ConfigLoader.Load(second.ConfigPath).Model.Weights);
        Assert.NotNull(second.OnnxPath);
    }

    [Fact]
    public void A_budget_too_small_is_refused_with_the_least_that_works_and_nothing_written()
    {
        var photos = TestFiles.Dataset(12, 12, 12);
        var work = TestFiles.TempDir("folder-budget");
        var run = FinetuneProgram.Run(work, "train", "--data_dir", photos, "--time_budget", "5s");
        output.WriteLine(run.Out + run.Err);
        Assert.Equal(ExitCodes.Usage, run.Code);
        var line = Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("finetune: A time budget of 5s is too small for 36 photos on this machine", line);
        Assert.Matches(@"give --time_budget \d+m(\d+s)? or more\.$", line);
        Assert.False(Directory.Exists(Path.Combine(work, "outputs")), "a refused run wrote outputs/");
    }

    [Theory]
    [InlineData("10m", 600)]
    [InlineData("90s", 90)]
    [InlineData("1h30m", 5400)]
    [InlineData("2", 120)]
    [InlineData("1.5h", 5400)]
    public void Time_budgets_read_as_durations(string text, double seconds) =>
        Assert.Equal(seconds, FineTune.Cli.Commands.FolderTrain.ParseDuration(text).TotalSeconds);

    [Theory]
    [InlineData("ten minutes")]
    [InlineData("0")]
    [InlineData("-5m")]
    public void A_budget_that_is_not_a_duration_is_a_usage_error(string text) =>
        Assert.Contains("--time_budget takes a duration", Assert.Throws<FineTune.Cli.UsageException>(() => FineTune.Cli.Commands.FolderTrain.ParseDuration(text)).Message);
}
