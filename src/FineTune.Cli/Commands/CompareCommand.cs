using FineTune.Comparison;
using FineTune.Config;
using FineTune.Training.Checkpoints;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune compare [--outputs outputs] [--out outputs/compare] [--configs a.yaml,b.yaml [--run]]`: the seed's
/// results table (Markdown + JSON) and one PNG of validation-accuracy curves, from finished experiments' results.json.
/// With --run, each config is trained and its best checkpoint tested first, in this process.
/// </summary>
public static class CompareCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "run" };

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
        var configs = configPaths.Select(p => (Path: p, Config: ConfigLoader.Load(p))).ToList();
        if (run)
        {
            foreach (var (path, config) in configs)
            {
                int code = TrainAndTest(path, config, Path.Combine(outputs, "test_reports"));
                if (code != 0) return code;
            }
        }

        var runs = configs.Count > 0 ? configs.Select(c => ReadResults(c.Path, c.Config)).ToList() : ResultsCollector.Collect(outputs);
        if (runs.Count == 0)
            throw new FileNotFoundException($"No finished experiments (results.json) under '{outputs}': train some first (`finetune train --config ...`), or pass --configs a.yaml,b.yaml --run.");
        var table = ComparisonReport.Write(outDir, runs);
        Console.Write(table.ToMarkdown());
        Console.WriteLine($"Wrote {Path.Combine(outDir, ComparisonReport.MarkdownFile)}, {ComparisonReport.JsonFile} and {ComparisonReport.CurvesFile} ({runs.Count} experiment(s)).");
        return 0;
    }

    /// <summary>The seed's train.sh then test.sh for one config: the train command in-process, then the test command on its best checkpoint.</summary>
    static int TrainAndTest(string configPath, FineTuneConfig config, string reportsDir)
    {
        Console.WriteLine($"== {config.Experiment.Name}: training ({configPath})");
        int code = TrainCommand.Run(new CommandLine(["--config", configPath], TrainCommand.Flags));
        if (code != 0)
        {
            Console.Error.WriteLine($"finetune: training {configPath} ended with exit code {code}; comparison stopped (fix it and rerun; finished experiments are kept).");
            return code;
        }
        var best = new CheckpointPolicy(config.Experiment.RunCheckpointDir, true, 1, config.Training.NumEpochs).BestPath;
        Console.WriteLine($"== {config.Experiment.Name}: testing {best}");
        return TestCommand.Run(new CommandLine(["--config", configPath, "--model_path", best, "--output_dir", reportsDir], TestCommand.Flags));
    }

    static RunResult ReadResults(string configPath, FineTuneConfig config)
    {
        var path = Path.Combine(config.Experiment.RunCheckpointDir, ResultsFile.FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' not found: experiment {config.Experiment.Name} of {configPath} has not finished training; train it (or add --run).");
        return ResultsFile.Read(path);
    }
}
