namespace FineTune.Evaluation;

/// <summary>
/// One evaluated image: its file, its true class and the model's class probabilities (softmax output,
/// one per class). The predicted class is the most probable one; ties go to the lower index, as argmax.
/// </summary>
public sealed record SamplePrediction(string Path, int TrueLabel, float[] Probabilities)
{
    // Computed on each use, so a `with` copy that swaps the probabilities never keeps a stale answer.
    public int PredictedLabel => ArgMax(Probabilities);

    public float Confidence => Probabilities[PredictedLabel];

    public bool IsCorrect => PredictedLabel == TrueLabel;

    /// <summary>Whether the true class is among the <paramref name="k"/> most probable ones (ties to the lower index).</summary>
    public bool TrueLabelInTop(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var trueScore = Probabilities[TrueLabel];
        var rankedAhead = 0;
        for (var c = 0; c < Probabilities.Length; c++)
            if (Probabilities[c] > trueScore || (Probabilities[c] == trueScore && c < TrueLabel)) rankedAhead++;
        return rankedAhead < k;
    }

    static int ArgMax(float[] values)
    {
        if (values.Length == 0) throw new ArgumentException("a prediction needs at least one class probability", nameof(values));
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
