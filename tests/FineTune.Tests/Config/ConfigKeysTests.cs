using FineTune.Config;
using Xunit;

namespace FineTune.Tests.Config;

/// <summary>The one table of config keys drives the printer and TensorBoard's hparams as the loader reads it.</summary>
public class ConfigKeysTests
{
    [Fact]
    public void Every_key_is_read_by_the_loader_and_written_by_the_printer()
    {
        // The printer writes every key of the table once, in its section, and what it writes loads back to the same config.
        var printed = ConfigPrinter.ToYaml(FineTuneConfig.Defaults);
        foreach (var key in ConfigKeys.All)
            Assert.Contains($"\n{new string(' ', 2 * (key.Section.Count(c => c == '.') + 1))}{key.Name}: ", printed);
        Assert.Equal(ConfigKeys.All.Count, printed.Split('\n').Count(l => l.StartsWith("  ") && !l.TrimEnd().EndsWith(':')));
        var again = ConfigLoader.Parse(printed, "printed");
        Assert.Equal(printed, ConfigPrinter.ToYaml(again));
    }

    [Fact]
    public void HParams_are_the_marked_keys_with_whole_numbers_as_doubles_and_the_run_s_precision()
    {
        var config = ConfigLoader.Parse("data:\n  batch_size: 16\nmodel:\n  backbone: resnet50\ntraining:\n  optimizer: sgd\n  base_lr: 0.01\n  scheduler: cosine\n  precision: auto\n", "test");
        var hparams = ConfigKeys.HParams(config, "fp32");
        Assert.Equal(
            new Dictionary<string, object>
            {
                ["batch_size"] = 16.0, ["backbone"] = "resnet50", ["pretrained"] = true, ["num_epochs"] = 30.0, ["optimizer"] = "sgd",
                ["base_lr"] = 0.01, ["fc_lr_multiplier"] = 1.0, ["weight_decay"] = 1e-4, ["scheduler"] = "cosine",
                ["label_smoothing"] = 0.0, ["precision"] = "fp32",
            },
            hparams);
    }
}
