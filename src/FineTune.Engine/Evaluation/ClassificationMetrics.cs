namespace FineTune.Evaluation;

/// <summary>Precision, recall, F1 and support of one class (scikit-learn's per-class row).</summary>
public sealed record ClassScores(string Name, double Precision, double Recall, double F1, int Support);

/// <summary>An averaged row: macro, weighted or micro. Support is the number of samples of the listed classes.</summary>
public sealed record AverageScores(double Precision, double Recall, double F1, int Support);

/// <summary>
/// The numbers of scikit-learn's classification_report, computed as it computes them (same formulas, same
/// order of float operations, zero_division="warn": an undefined ratio is 0 and a warning is recorded).
/// Every class in <see cref="Classes"/> is listed, like <c>labels=range(len(class_names))</c>, so a class
/// that is absent from the test split still has its row.
/// </summary>
public sealed record ClassificationMetrics(
    IReadOnlyList<ClassScores> Classes,
    double Accuracy,
    int SampleCount,
    AverageScores Micro,
    bool MicroIsAccuracy,
    AverageScores Macro,
    AverageScores Weighted,
    IReadOnlyList<string> Warnings)
{
    public static ClassificationMetrics Compute(IReadOnlyList<int> trueLabels, IReadOnlyList<int> predictedLabels, IReadOnlyList<string> classNames)
    {
        var classCount = classNames.Count;
        if (classCount == 0) throw new ArgumentException("the class list is empty; a report needs at least one class name", nameof(classNames));
        if (trueLabels.Count != predictedLabels.Count)
            throw new ArgumentException($"{trueLabels.Count} true labels but {predictedLabels.Count} predicted labels; they must pair up", nameof(predictedLabels));
        if (trueLabels.Count == 0) throw new ArgumentException("no samples: a report needs at least one prediction", nameof(trueLabels));

        var truePositives = new int[classCount];
        var trueCounts = new int[classCount];
        var predictedCounts = new int[classCount];
        var correct = 0;
        for (var i = 0; i < trueLabels.Count; i++)
        {
            var t = CheckLabel(trueLabels[i], classCount, "true");
            var p = CheckLabel(predictedLabels[i], classCount, "predicted");
            trueCounts[t]++;
            predictedCounts[p]++;
            if (t == p) { truePositives[t]++; correct++; }
        }

        var warnings = new List<string>();
        var precision = Divide(truePositives, predictedCounts);
        var recall = Divide(truePositives, trueCounts);
        var f1 = new double[classCount];
        for (var c = 0; c < classCount; c++) f1[c] = FScore(precision[c], recall[c]);
        WarnIllDefined(warnings, "Precision", "no predicted samples", predictedCounts, classNames);
        WarnIllDefined(warnings, "Recall", "no true samples", trueCounts, classNames);

        var classes = new ClassScores[classCount];
        for (var c = 0; c < classCount; c++) classes[c] = new ClassScores(classNames[c], precision[c], recall[c], f1[c], trueCounts[c]);

        var total = trueLabels.Count;
        var microPrecision = correct / (double)total;  // every prediction is of a listed class
        var microRecall = correct / (double)total;
        var micro = new AverageScores(microPrecision, microRecall, FScore(microPrecision, microRecall), total);
        var macro = new AverageScores(NumpySum.Mean(precision), NumpySum.Mean(recall), NumpySum.Mean(f1), total);
        var weighted = new AverageScores(
            NumpySum.WeightedAverage(precision, trueCounts),
            NumpySum.WeightedAverage(recall, trueCounts),
            NumpySum.WeightedAverage(f1, trueCounts),
            total);

        // scikit-learn calls the micro row "accuracy" only when the listed classes are exactly those seen.
        var microIsAccuracy = Enumerable.Range(0, classCount).All(c => trueCounts[c] > 0 || predictedCounts[c] > 0);

        return new ClassificationMetrics(classes, correct / (double)total, total, micro, microIsAccuracy, macro, weighted, warnings);
    }

    static int CheckLabel(int label, int classCount, string kind) =>
        label >= 0 && label < classCount
            ? label
            : throw new ArgumentOutOfRangeException(nameof(label), $"{kind} label {label} is not a class index (there are {classCount} classes, 0..{classCount - 1})");

    // scikit-learn's _prf_divide with zero_division="warn": a zero denominator gives 0.
    static double[] Divide(int[] numerator, int[] denominator)
    {
        var result = new double[numerator.Length];
        for (var i = 0; i < result.Length; i++) result[i] = denominator[i] == 0 ? 0.0 : numerator[i] / (double)denominator[i];
        return result;
    }

    // F-beta with beta = 1, written as scikit-learn evaluates it: (1 + b2) * p * r / (b2 * p + r).
    static double FScore(double precision, double recall)
    {
        var denominator = precision + recall;
        if (denominator == 0.0) denominator = 1;
        return 2.0 * precision * recall / denominator;
    }

    static void WarnIllDefined(List<string> warnings, string metric, string reason, int[] counts, IReadOnlyList<string> classNames)
    {
        var names = Enumerable.Range(0, counts.Length).Where(c => counts[c] == 0).Select(c => classNames[c]).ToList();
        if (names.Count == 0) return;
        const int shown = 10;
        var list = string.Join(", ", names.Take(shown)) + (names.Count > shown ? $", ... ({names.Count} in all)" : "");
        warnings.Add($"{metric} is ill-defined and being set to 0.0 in {names.Count} class(es) with {reason}: {list}");
    }
}
