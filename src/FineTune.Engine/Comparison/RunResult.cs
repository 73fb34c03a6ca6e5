using FineTune.Evaluation;

namespace FineTune.Comparison;

/// <summary>How a run's backbone started: from pretrained weights (fine-tuned) or from random initialisation.</summary>
public enum TrainingMode { Finetune, Scratch }

/// <summary>
/// What a finished experiment achieved, as written to <c>results.json</c> in its folder. Accuracies are
/// fractions (0..1) at the best epoch (highest validation accuracy); TestAccuracy is null until the best
/// checkpoint has been tested.
/// </summary>
public sealed record RunResult(
    string Experiment,
    string Backbone,
    TrainingMode Mode,
    int BestEpoch,
    double TrainAccuracy,
    double ValAccuracy,
    double? TestAccuracy,
    double WallSeconds,
    IReadOnlyList<EpochRecord> History)
{
    /// <summary>Builds the result from the epoch history: best epoch and its train/validation accuracy.</summary>
    public static RunResult FromHistory(string experiment, string backbone, TrainingMode mode, IReadOnlyList<EpochRecord> history,
        double wallSeconds, double? testAccuracy = null)
    {
        var best = EpochRecord.Best(history)
            ?? throw new ArgumentException($"experiment {experiment} has no epoch with a finite validation accuracy; nothing to report", nameof(history));
        return new RunResult(experiment, backbone, mode, best.Epoch, best.TrainAccuracy, best.ValAccuracy, testAccuracy, wallSeconds, history);
    }
}
