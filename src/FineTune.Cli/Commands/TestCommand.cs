using FineTune.Comparison;
using FineTune.Config;
using FineTune.Cli.Output;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune test --config F --model_path P [--experiment_name N] [--gpu 0] [--output_dir D]`: the seed's test.py.
/// Evaluates a checkpoint on the test split it was trained with and writes the report into D/&lt;experiment&gt;
/// (<see cref="Experiment.Test"/>).
/// </summary>
public static class TestCommand
{
    public static int Run(CommandLine cl)
    {
        var configPath = cl.Require("config", "the YAML config the model was trained with, e.g. configs/resnet18_finetune.yaml");
        var modelPath = cl.Require("model_path", "the checkpoint to test, e.g. outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt");
        var experimentName = cl.Get("experiment_name");
        var seed = cl.GetInt("seed");
        var gpu = cl.Get("gpu");
        var outputDir = cl.Get("output_dir") ?? TestOptions.DefaultOutputDir;
        var precisionText = cl.Get("precision");
        cl.RejectUnknown("test");

        var config = ConfigLoader.Load(configPath);
        if (seed is { } splitSeed) config = SeedSpread.WithSplitSeed(config, splitSeed);
        var precision = PrecisionOption.Read(precisionText);
        var experiment = experimentName ?? config.Experiment.Name;
        if (!ExperimentConfig.IsFolderName(experiment))
            throw new UsageException($"--experiment_name '{experiment}' cannot be a folder name: use letters, digits, '-' and '_'.");
        Experiment.Test(config, modelPath, new TestOptions { OutputDir = outputDir, ExperimentName = experiment, Gpu = gpu, Precision = precision, Logger = ConsoleOutput.Logger() });
        return 0;
    }
}
