using System.Globalization;
using System.Text.RegularExpressions;
using FineTune.Cli.Output;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune train --data_dir PHOTOS [--time_budget 10m] [--backbone B] [--epochs N] [--image_size PX] [--weights W]
/// [--experiment_name N] [--gpu 0]`: <see cref="Experiment.TrainOnFolder"/>, one command from photos to report.html and model.onnx.
/// </summary>
public static class FolderTrain
{
    public static int Run(CommandLine cl, string photos)
    {
        if (cl.Get("config") is not null)
            throw new UsageException("Pass --config F or --data_dir PHOTOS, not both: --data_dir plans its own config (and writes it, for `finetune train --config` to repeat the run).");
        var budget = ParseDuration(cl.Get("time_budget") ?? "10m");
        var backbone = cl.Get("backbone") ?? "resnet18";
        int? epochs = cl.GetInt("epochs"), imageSize = cl.GetInt("image_size");
        var weights = cl.Get("weights") ?? "auto";
        var experimentName = cl.Get("experiment_name");
        var gpu = cl.Get("gpu");
        cl.RejectUnknown("train");
        if (epochs is < 0) throw new UsageException($"--epochs must be 0 (a linear probe alone) or more; got {epochs}.");
        if (epochs == 0 && gpu is not null) throw new UsageException("--epochs 0 (a linear probe alone) is a CPU plan; a run on a GPU fine-tunes every layer: give --epochs 1 or more, or leave it to the planner.");
        if (imageSize is { } size && (size < 64 || size > 1024 || size % 32 != 0))
            throw new UsageException($"--image_size must be a multiple of 32 between 64 and 1024; got {size}.");
        if (experimentName is not null) TrainCommand.EnsureFolderName(experimentName);

        using var signals = new SignalStop();
        var result = Experiment.TrainOnFolder(photos, new FolderRunOptions
        {
            TimeBudget = budget, Backbone = backbone, Epochs = epochs, ImageSize = imageSize, Weights = weights,
            ExperimentName = experimentName, Gpu = gpu, Logger = ConsoleOutput.Logger(), Progress = ConsoleOutput.Progress(), ListenForStop = signals.Listen, StopReason = () => signals.Signal,
        }, signals.Token);
        return TrainCommand.ExitCode(result.Training);
    }

    /// <summary>"10m", "90s", "1h30m", "1.5h"; a bare number is minutes.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes) && minutes > 0) return TimeSpan.FromMinutes(minutes);
        var m = Regex.Match(t, @"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$");
        double Part(int g) => m.Groups[g].Success ? double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
        var total = m.Success ? TimeSpan.FromHours(Part(1)) + TimeSpan.FromMinutes(Part(2)) + TimeSpan.FromSeconds(Part(3)) : TimeSpan.Zero;
        if (total <= TimeSpan.Zero)
            throw new UsageException($"--time_budget takes a duration such as 10m, 90s or 1h30m; got '{text}'.");
        return total;
    }
}
