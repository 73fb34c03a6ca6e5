using FineTune.Evaluation;
using Xunit;

namespace FineTune.Tests.Evaluation;

public class ClassificationMetricsTests
{
    static readonly string[] Names = ["cat", "dog", "emu"];

    [Fact]
    public void Per_class_scores_follow_the_definitions()
    {
        // cat: 2 true, predicted 3 times, 2 right -> precision 2/3, recall 1; dog: 2 true, 1 right; emu: 1 true, 0 predicted.
        var m = ClassificationMetrics.Compute([0, 0, 1, 1, 2], [0, 0, 0, 1, 1], Names);
        Assert.Equal(2 / 3.0, m.Classes[0].Precision);
        Assert.Equal(1.0, m.Classes[0].Recall);
        Assert.Equal(0.8, m.Classes[0].F1, 12);
        Assert.Equal(0.5, m.Classes[1].Precision);
        Assert.Equal(0.5, m.Classes[1].Recall);
        Assert.Equal([2, 2, 1], m.Classes.Select(c => c.Support));
        Assert.Equal(0.6, m.Accuracy);
        Assert.Equal(5, m.SampleCount);
        Assert.True(m.MicroIsAccuracy);
        Assert.Equal((2 / 3.0 + 0.5 + 0) / 3, m.Macro.Precision, 12);
        Assert.Equal((1.0 * 2 + 0.5 * 2 + 0 * 1) / 5, m.Weighted.Recall, 12);
    }

    [Fact]
    public void A_class_never_predicted_scores_zero_and_is_named_in_a_warning()
    {
        var m = ClassificationMetrics.Compute([0, 0, 1, 1, 2], [0, 0, 0, 1, 1], Names);
        Assert.Equal(0.0, m.Classes[2].Precision);
        Assert.Equal(0.0, m.Classes[2].F1);
        var warning = Assert.Single(m.Warnings);
        Assert.StartsWith("Precision is ill-defined", warning);
        Assert.EndsWith(": emu", warning);
    }

    [Fact]
    public void A_class_absent_from_the_data_turns_the_accuracy_row_into_micro_avg()
    {
        var m = ClassificationMetrics.Compute([0, 0, 1], [0, 1, 1], Names);
        Assert.False(m.MicroIsAccuracy);
        Assert.Equal(2, m.Warnings.Count); // emu: neither predicted nor true
        Assert.Contains("micro avg", ClassificationReport.ToText(m));
        Assert.DoesNotContain("accuracy", ClassificationReport.ToText(m));
    }

    [Fact]
    public void Bad_input_is_refused_with_a_message_naming_it()
    {
        var outOfRange = Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.Compute([0, 3], [0, 0], Names));
        Assert.Contains("true label 3", outOfRange.Message);
        Assert.Contains("pair up", Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0, 1], [0], Names)).Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([], [], Names)).Message);
    }

    [Fact]
    public void Text_report_layout_is_sklearns_for_a_known_case()
    {
        // scikit-learn 1.2's classification_report(y_true=[0,1,2,2,2], y_pred=[0,0,2,2,1], target_names=['class 0','class 1','class 2']),
        // from its own docstring, so this layout is checked even where python3-sklearn is not installed.
        const string expected =
            "              precision    recall  f1-score   support\n\n" +
            "     class 0       0.50      1.00      0.67         1\n" +
            "     class 1       0.00      0.00      0.00         1\n" +
            "     class 2       1.00      0.67      0.80         3\n\n" +
            "    accuracy                           0.60         5\n" +
            "   macro avg       0.50      0.56      0.49         5\n" +
            "weighted avg       0.70      0.60      0.61         5\n";
        var m = ClassificationMetrics.Compute([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], ["class 0", "class 1", "class 2"]);
        Assert.Equal(expected, ClassificationReport.ToText(m));
    }

    [Fact]
    public void Four_digits_widen_the_numbers()
    {
        var m = ClassificationMetrics.Compute([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], ["class 0", "class 1", "class 2"]);
        Assert.Contains("     class 2     1.0000    0.6667    0.8000         3\n", ClassificationReport.ToText(m, digits: 4));
    }

    [Theory]
    [InlineData(0.125, 2, "0.12")]   // exact binary midpoint: half to even, as Python
    [InlineData(0.375, 2, "0.38")]
    [InlineData(0.135, 2, "0.14")]   // 0.135 is stored as 0.13500000000000000888...
    [InlineData(0.03125, 4, "0.0312")]
    [InlineData(1.0, 2, "1.00")]
    [InlineData(0.0, 4, "0.0000")]
    [InlineData(2.5, 0, "2")]
    [InlineData(0.6666666666666666, 2, "0.67")]
    [InlineData(123.456, 1, "123.5")]
    public void Numbers_are_formatted_like_pythons_format_spec(double value, int digits, string expected)
        => Assert.Equal(expected, PythonFormat.Fixed(value, digits));

    [Fact]
    public void Top_k_counts_the_true_class_among_the_k_most_probable()
    {
        SamplePrediction[] samples =
        [
            new("a.jpg", 0, [0.7f, 0.2f, 0.1f]),   // top-1 right
            new("b.jpg", 1, [0.5f, 0.3f, 0.2f]),   // second
            new("c.jpg", 2, [0.5f, 0.3f, 0.2f]),   // third
        ];
        Assert.Equal(1 / 3.0, TopKAccuracy.Compute(samples, 1));
        Assert.Equal(2 / 3.0, TopKAccuracy.Compute(samples, 2));
        Assert.Equal(1.0, TopKAccuracy.Compute(samples, 5)); // fewer classes than k: every sample counts
        Assert.Equal(0, samples[0].PredictedLabel);
        Assert.Equal(0.5f, samples[1].Confidence);
    }

    [Fact]
    public void Top_5_of_seven_classes_misses_a_true_class_ranked_sixth()
    {
        // With more classes than k, top-5 can fail: the true class of b.jpg is the sixth most probable.
        float[] ranked = [0.30f, 0.25f, 0.20f, 0.10f, 0.08f, 0.05f, 0.02f];
        SamplePrediction[] samples =
        [
            new("a.jpg", 4, ranked), // fifth: counted
            new("b.jpg", 5, ranked), // sixth: missed
            new("c.jpg", 6, ranked), // seventh: missed
            new("d.jpg", 0, ranked),
        ];
        Assert.Equal(0.5, TopKAccuracy.Compute(samples, 5));
        Assert.Equal(0.25, TopKAccuracy.Compute(samples, 1));
    }
}
