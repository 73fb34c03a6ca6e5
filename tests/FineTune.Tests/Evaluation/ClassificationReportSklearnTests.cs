using System.Text.Json.Nodes;
using FineTune.Evaluation;
using Xunit;

namespace FineTune.Tests.Evaluation;

/// <summary>The text report must equal scikit-learn's own, byte for byte, and the JSON its output_dict, number for number.</summary>
public class ClassificationReportSklearnTests
{
    static void AssertSameAsSklearn(int[] yTrue, int[] yPred, string[] names, int digits)
    {
        var metrics = ClassificationMetrics.Compute(yTrue, yPred, names);
        var (expectedText, expectedDict) = Sklearn.ClassificationReport(yTrue, yPred, names, digits);

        Assert.Equal(expectedText, ClassificationReport.ToText(metrics, digits));

        // Through the written JSON text, as a reader of classification_report.json sees it.
        var actual = JsonNode.Parse(ClassificationReport.ToJsonText(metrics))!.AsObject();
        Assert.Equal(expectedDict.Select(p => p.Key), actual.Select(p => p.Key));
        foreach (var (key, expected) in expectedDict)
        {
            if (expected is JsonObject row)
                foreach (var field in new[] { "precision", "recall", "f1-score", "support" })
                    Assert.True(row[field]!.GetValue<double>() == actual[key]![field]!.GetValue<double>(),
                        $"{key}.{field}: scikit-learn {row[field]}, ours {actual[key]![field]}");
            else
                Assert.Equal(expected!.GetValue<double>(), actual[key]!.GetValue<double>());
        }
    }

    [SklearnFact]
    public void Small_three_class_example_matches()
        => AssertSameAsSklearn([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], ["class 0", "class 1", "class 2"], 2);

    [SklearnFact]
    public void A_class_never_predicted_matches()
        => AssertSameAsSklearn([0, 0, 1, 1, 2, 2, 2], [0, 0, 0, 0, 2, 2, 0], ["accordion", "airplanes", "anchor"], 2);

    [SklearnFact]
    public void A_listed_class_absent_from_the_data_gives_a_micro_avg_row_like_sklearn()
    {
        // "dolphin" is in neither y_true nor y_pred: scikit-learn prints "micro avg" instead of "accuracy".
        AssertSameAsSklearn([0, 0, 1, 1, 3], [0, 1, 1, 1, 3], ["ant", "bass", "dolphin", "emu"], 2);
        AssertSameAsSklearn([0, 0, 1, 1, 3], [0, 1, 1, 1, 3], ["ant", "bass", "dolphin", "emu"], 4);
    }

    [SklearnFact]
    public void A_class_predicted_but_absent_from_y_true_matches()
        => AssertSameAsSklearn([0, 0, 1, 1], [0, 2, 1, 2], ["a", "b", "c"], 2);

    [SklearnFact]
    public void Long_and_non_ascii_class_names_set_the_column_width_as_in_python()
        => AssertSameAsSklearn([0, 1, 2, 3, 3, 1], [0, 1, 3, 3, 2, 1],
            ["Faces_easy_but_with_a_much_longer_name", "café", "crocodile_head", "\U0001F600 emoji"], 2);

    [SklearnFact]
    public void Exact_binary_midpoints_round_half_to_even_like_python()
    {
        // precision of class 0 is 1/8 = 0.125 exactly -> "0.12" (not .NET's "0.13"); 3/8 -> "0.38"; 1/32 at 4 digits.
        int[] yTrue = [0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0];
        int[] yPred = [0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 1, 1];
        AssertSameAsSklearn(yTrue, yPred, ["x", "y", "z"], 2);
        var yTrue32 = Enumerable.Repeat(1, 31).Prepend(0).ToArray();
        var yPred32 = Enumerable.Repeat(0, 32).ToArray();
        AssertSameAsSklearn(yTrue32, yPred32, ["one", "two"], 4);
        AssertSameAsSklearn(yTrue32, yPred32, ["one", "two"], 2);
    }

    [SklearnFact]
    public void One_hundred_and_one_classes_match_at_2_and_4_digits()
    {
        var (yTrue, yPred, names) = RandomLabels(classCount: 101, samples: 1500, accuracy: 0.8, seed: 1);
        AssertSameAsSklearn(yTrue, yPred, names, 2);
        AssertSameAsSklearn(yTrue, yPred, names, 4);
    }

    [SklearnFact]
    public void Many_classes_with_gaps_use_numpys_pairwise_sums()
    {
        // 300 classes (numpy's summation splits above 128 elements), some never seen, some never predicted.
        var (yTrue, yPred, names) = RandomLabels(classCount: 300, samples: 700, accuracy: 0.5, seed: 7);
        AssertSameAsSklearn(yTrue, yPred, names, 2);
        AssertSameAsSklearn(yTrue, yPred, names, 4);
    }

    [SklearnFact]
    public void A_single_class_matches()
        => AssertSameAsSklearn([0, 0, 0], [0, 0, 0], ["only"], 2);

    static (int[] True, int[] Pred, string[] Names) RandomLabels(int classCount, int samples, double accuracy, int seed)
    {
        var random = new Random(seed);
        var names = Enumerable.Range(0, classCount).Select(i => $"class_{i:D3}" + new string('x', random.Next(0, 12))).ToArray();
        var yTrue = new int[samples];
        var yPred = new int[samples];
        for (var i = 0; i < samples; i++)
        {
            // Skewed class sizes, as in Caltech-101 (31..800 images a class).
            yTrue[i] = (int)(classCount * Math.Pow(random.NextDouble(), 1.7));
            yPred[i] = random.NextDouble() < accuracy ? yTrue[i] : random.Next(classCount);
        }
        return (yTrue, yPred, names);
    }
}
