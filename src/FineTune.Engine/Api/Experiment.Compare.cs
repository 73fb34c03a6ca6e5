using FineTune.Comparison;
using FineTune.Config;
using FineTune.Reports;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Logging;

namespace FineTune;

/// <summary>What <see cref="Experiment.TrainTestAndCompare"/> did: the table, or the training run that ended the set early.</summary>
/// <param name="Table">The results table written (null when a run stopped the set).</param>
/// <param name="Stopped">The config whose training was interrupted or diverged, and its result; null when all finished.</param>
public sealed record ComparisonResult(ResultsTable? Table, (FineTuneConfig Config, TrainingResult Result)? Stopped);

public static partial class Experiment
{
    /// <summary>
    /// The seed's train.sh then test.sh for each config in turn (train, then test its best checkpoint into
    /// <paramref name="reportsDir"/>), then the results table, validation curves and compare.html of all of them in
    /// <paramref name="compareDir"/>: `finetune compare --run` and `finetune quickstart`. A training run that is
    /// interrupted or diverges ends the set there; finished experiments are kept.
    /// </summary>
    /// <param name="options">How each run trains (log, stop listener); applied to every config.</param>
    public static ComparisonResult TrainTestAndCompare(IReadOnlyList<FineTuneConfig> configs, string reportsDir, string compareDir,
        TrainOptions? options = null, CancellationToken cancellationToken = default)
    {
        var log = new LoggerWriter(options?.Logger);
        foreach (var config in configs)
        {
            log.WriteLine($"== {config.Experiment.Name}: training ({config.Source})");
            var trained = Train(config, options, cancellationToken);
            if (trained.Outcome is TrainingOutcome.Interrupted or TrainingOutcome.Diverged) return new ComparisonResult(null, (config, trained));
            var best = new CheckpointPolicy(config.Experiment.RunCheckpointDir, true, 1, config.Training.NumEpochs).BestPath;
            log.WriteLine($"== {config.Experiment.Name}: testing {best}");
            Test(config, best, new TestOptions { OutputDir = reportsDir, Logger = options?.Logger, Progress = options?.Progress });
        }
        return new ComparisonResult(Compare(configs.Select(ReadResults).ToList(), compareDir, reportsDir), null);
    }

    /// <summary>
    /// Writes the seed's results table (Markdown and JSON), one PNG of validation-accuracy curves and compare.html (the runs
    /// side by side, linking each run's report.html) into <paramref name="outDir"/>, and returns the table.
    /// </summary>
    /// <param name="reportsDir">Where `finetune test` wrote the runs' reports (&lt;reportsDir&gt;/&lt;experiment&gt;/report.html); null: <see cref="TestOptions.DefaultOutputDir"/>.</param>
    public static ResultsTable Compare(IReadOnlyList<RunResult> runs, string outDir, string? reportsDir = null)
    {
        var table = ComparisonReport.Write(outDir, runs);
        reportsDir ??= TestOptions.DefaultOutputDir;
        ComparisonPage.Save(Path.Combine(outDir, ComparisonPage.FileName), runs, ComparisonReport.RenderCurves(runs), run =>
            Path.Combine(reportsDir, run.Experiment, HtmlReport.FileName) is var report && File.Exists(report) ? report : null);
        return table;
    }

    /// <summary>The results.json a finished (and tested) run of <paramref name="config"/> left beside its checkpoints.</summary>
    /// <exception cref="FileNotFoundException">The experiment has not finished training.</exception>
    public static RunResult ReadResults(FineTuneConfig config)
    {
        var path = Path.Combine(config.Experiment.RunCheckpointDir, ResultsFile.FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' not found: experiment {config.Experiment.Name} of {config.Source} has not finished training; train it (or add --run).");
        return ResultsFile.Read(path);
    }
}
