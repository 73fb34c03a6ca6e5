namespace FineTune.Evaluation;

/// <summary>
/// One finished epoch of training: what checkpoints, curves and results files are drawn from.
/// Accuracies are fractions (0..1); charts and tables show them as percentages. LearningRates
/// (backbone, classifier) and Seconds are known to the trainer and optional elsewhere.
/// </summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy,
    double[]? LearningRates = null, double Seconds = 0)
{
    /// <summary>The epoch with the highest validation accuracy (the first one on a tie, as "improved" is strict), or null for an empty history.</summary>
    public static EpochRecord? Best(IReadOnlyList<EpochRecord> history)
    {
        EpochRecord? best = null;
        foreach (var record in history)
            if (double.IsFinite(record.ValAccuracy) && (best is null || record.ValAccuracy > best.ValAccuracy)) best = record;
        return best;
    }
}
