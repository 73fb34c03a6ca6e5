namespace FineTune.Evaluation;

public static class TopKAccuracy
{
    /// <summary>Fraction of samples whose true class is among the k most probable. With fewer than k classes every sample counts.</summary>
    public static double Compute(IReadOnlyList<SamplePrediction> samples, int k)
    {
        if (samples.Count == 0) throw new ArgumentException("no samples: top-k accuracy needs at least one prediction", nameof(samples));
        return samples.Count(s => s.TrueLabelInTop(k)) / (double)samples.Count;
    }
}
