using FineTune.Comparison;
using FineTune.Config;
using FineTune.Reports;
using FineTune.Cli.Output;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune compare [--outputs outputs] [--out outputs/compare] [--configs a.yaml,b.yaml [--run]]`: the seed's
/// results table (Markdown + JSON), one PNG of validation-accuracy curves and compare.html (the runs side by side, linking
/// each run's report.html under &lt;outputs&gt;/test_reports), from finished experiments' results.json.
/// With --run, each config is trained and its best checkpoint tested first, in this process (<see cref="Experiment.TrainTestAndCompare"/>).
/// </summary>
public static class CompareCommand
{
    public static int Run(CommandLine cl)
    {
        var outputs = cl.Get("outputs") ?? "outputs";
        var outDir = cl.Get("out") ?? Path.Combine(outputs, "compare");
        var configList = cl.Get("configs");
        bool run = cl.Flag("run");
        cl.RejectUnknown("compare");
        var configPaths = configList?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (run && configPaths.Length == 0)
            throw new UsageException("--run needs --configs a.yaml,b.yaml: the experiments to train and test before comparing.");

        // Every config is read before anything runs: a typo in the second must not surface after an hour of training the first.
        var configs = configPaths.Select(ConfigLoader.Load).ToList();
        if (run) return TrainTestAndCompare(configs, outputs, outDir);

        var runs = configs.Count > 0 ? configs.Select(Experiment.ReadResults).ToList() : ResultsCollector.Collect(outputs);
        if (runs.Count == 0)
            throw new FileNotFoundException($"No finished experiments (results.json) under '{outputs}': train some first (`finetune train --config ...`), or pass --configs a.yaml,b.yaml --run.");
        Print(Experiment.Compare(runs, outDir, ReportsDir(outputs)), outDir, runs.Count);
        return 0;
    }

    /// <summary>The seed's train.sh then test.sh for each config (test reports under &lt;outputs&gt;/test_reports), then the table; Ctrl-C stops training as `finetune train` does.</summary>
    internal static int TrainTestAndCompare(IReadOnlyList<FineTuneConfig> configs, string outputs, string outDir)
    {
        using var signals = new SignalStop();
        var options = new TrainOptions { Logger = ConsoleOutput.Logger(), Progress = ConsoleOutput.Progress(), ListenForStop = signals.Listen, StopReason = () => signals.Signal };
        var result = Experiment.TrainTestAndCompare(configs, ReportsDir(outputs), outDir, options, signals.Token);
        if (result.Stopped is var (config, training))
        {
            int code = TrainCommand.ExitCode(training);
            Console.Error.WriteLine($"finetune: training {config.Source} ended with exit code {code}; comparison stopped (fix it and rerun; finished experiments are kept).");
            return code;
        }
        Print(result.Table!, outDir, configs.Count);
        return 0;
    }

    /// <summary>Where `finetune test` puts reports by default when its outputs folder is <paramref name="outputs"/>.</summary>
    static string ReportsDir(string outputs) => Path.Combine(outputs, "test_reports");

    static void Print(ResultsTable table, string outDir, int runs)
    {
        Console.Write(table.ToMarkdown());
        Console.WriteLine($"Wrote {Path.Combine(outDir, ComparisonReport.MarkdownFile)}, {ComparisonReport.JsonFile}, {ComparisonReport.CurvesFile} and {ComparisonPage.FileName} ({runs} experiment(s)).");
    }
}
