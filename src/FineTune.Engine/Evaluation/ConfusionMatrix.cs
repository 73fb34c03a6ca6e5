using System.Globalization;
using System.Text;

namespace FineTune.Evaluation;

/// <summary>Counts[true, predicted], rows are true classes and columns predicted ones (scikit-learn's orientation).</summary>
public sealed class ConfusionMatrix
{
    public IReadOnlyList<string> ClassNames { get; }
    public int[,] Counts { get; }

    public ConfusionMatrix(IReadOnlyList<string> classNames, IReadOnlyList<int> trueLabels, IReadOnlyList<int> predictedLabels)
    {
        if (trueLabels.Count != predictedLabels.Count)
            throw new ArgumentException($"{trueLabels.Count} true labels but {predictedLabels.Count} predicted labels; they must pair up", nameof(predictedLabels));
        ClassNames = classNames;
        Counts = new int[classNames.Count, classNames.Count];
        for (var i = 0; i < trueLabels.Count; i++)
        {
            var t = trueLabels[i];
            var p = predictedLabels[i];
            if ((uint)t >= (uint)classNames.Count || (uint)p >= (uint)classNames.Count)
                throw new ArgumentOutOfRangeException(nameof(trueLabels), $"sample {i}: label {t} or {p} is not a class index (there are {classNames.Count} classes)");
            Counts[t, p]++;
        }
    }

    public int ClassCount => ClassNames.Count;

    public int RowTotal(int trueClass)
    {
        var total = 0;
        for (var p = 0; p < ClassCount; p++) total += Counts[trueClass, p];
        return total;
    }

    /// <summary>
    /// CSV: a header row "true\predicted" followed by the class names, then one row per true class:
    /// its name and the counts per predicted class.
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder();
        csv.Append(Csv.Line(ClassNames.Prepend("true\\predicted")));
        for (var t = 0; t < ClassCount; t++)
        {
            var row = new List<string> { ClassNames[t] };
            for (var p = 0; p < ClassCount; p++) row.Add(Counts[t, p].ToString(CultureInfo.InvariantCulture));
            csv.Append(Csv.Line(row));
        }
        return csv.ToString();
    }
}
