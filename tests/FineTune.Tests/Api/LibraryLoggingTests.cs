using FineTune.Config;
using FineTune.Logging;
using FineTune.Tests.Cli;
using FineTune.Training;
using Microsoft.Extensions.Logging;
using Xunit;

namespace FineTune.Tests.Api;

/// <summary>
/// Issue 22, item 2: the library says nothing on the console unless given a logger; given one, every line goes to it as
/// a message; long work reports each batch through <see cref="IProgress{T}"/>. Real runs: one epoch of a ResNet-18
/// with its linear probe on a small image folder, then its test.
/// </summary>
[Collection(RestoresKernelPlan.Collection)]
public class LibraryLoggingTests : RestoresKernelPlan
{
    static FineTuneConfig Config(FolderExperiment data, string name) =>
        ConfigLoader.Parse(data.Yaml().Replace("name: folder_run", $"name: {name}").Replace("pretrained: false", "pretrained: true\n  weights: bundled")
            .Replace("  threads: 1\n", "  threads: 1\n  precision: fp32\n  linear_probe_epochs: 2\n"), $"{name}.yaml");

    [Fact]
    public void Without_a_logger_training_testing_and_classifying_print_nothing()
    {
        var data = new FolderExperiment(trained: false);
        var config = Config(data, "quiet");
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var (savedOut, savedErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var trained = Experiment.Train(config);
            Assert.Equal(TrainingOutcome.Completed, trained.Outcome);
            Experiment.Test(config, trained.BestCheckpoint!, new TestOptions { OutputDir = Path.Combine(data.Root, "reports") });
            using var classifier = Classifier.Load(trained.BestCheckpoint!);
            classifier.Predict(Directory.GetFiles(data.DataDir, "*.png", SearchOption.AllDirectories)[0]);
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
        // Other tests of the process may print, so look for this run's own lines rather than for silence.
        foreach (var marker in new[] { "Kernels:", "Precision:", "Model:", "Data:", "Epoch", "Linear probe", "Testing", "Report:" })
        {
            Assert.DoesNotContain(marker, stdout.ToString());
            Assert.DoesNotContain(marker, stderr.ToString());
        }
    }

    [Fact]
    public void A_logger_gets_every_line_and_progress_gets_every_batch_of_every_phase()
    {
        var data = new FolderExperiment(trained: false);
        var config = Config(data, "logged");
        var logger = new Collecting();
        var updates = new Updates();
        var trained = Experiment.Train(config, new TrainOptions { Logger = logger, Progress = updates });
        Assert.Equal(TrainingOutcome.Completed, trained.Outcome);
        Experiment.Test(config, trained.BestCheckpoint!, new TestOptions { OutputDir = Path.Combine(data.Root, "reports"), Logger = logger, Progress = updates });

        var messages = logger.Messages.Select(m => m.Text).ToList();
        foreach (var start in new[] { "Kernels:", "Model: resnet18", "Data: ", "Linear probe", "Epoch 1/1:", "Testing ", "Test split: ", "Report: " })
            Assert.True(messages.Any(m => m.TrimStart().StartsWith(start, StringComparison.Ordinal)), $"no message starts with '{start}':\n{string.Join("\n", messages)}");
        Assert.All(logger.Messages, m => Assert.DoesNotContain('\n', m.Text)); // one message per line

        // Each phase counts its batches 1..total, in order, and ends finished.
        var phases = updates.All.GroupBy(u => u.Label).ToList();
        Assert.Equal([ProgressPhase.Features, ProgressPhase.Training, ProgressPhase.Validation, ProgressPhase.Test],
            phases.Select(g => g.First().Phase).Distinct());
        foreach (var phase in phases)
        {
            var done = phase.Select(u => u.Done).ToList();
            Assert.Equal(Enumerable.Range(1, phase.First().Total), done);
            Assert.True(phase.Last().Finished, phase.Key);
        }
        var epoch = updates.All.Last(u => u.Phase == ProgressPhase.Training);
        Assert.InRange(epoch.Accuracy, 0, 1);
        Assert.False(double.IsNaN(epoch.Loss));
    }

    sealed class Collecting : ILogger
    {
        public List<(LogLevel Level, string Text)> Messages { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add((logLevel, formatter(state, exception)));
        }
    }

    sealed class Updates : IProgress<ProgressUpdate>
    {
        public List<ProgressUpdate> All { get; } = [];
        public void Report(ProgressUpdate value) { lock (All) All.Add(value); }
    }
}
