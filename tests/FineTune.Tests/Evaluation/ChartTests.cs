using FineTune.Charts;
using FineTune.Evaluation;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Evaluation;

public class ChartTests
{
    static List<EpochRecord> History(int epochs, double top) => Enumerable.Range(1, epochs)
        .Select(e => new EpochRecord(e, 2.0 / e, top * e / epochs, 2.2 / e, top * e / epochs - 0.05 * (e % 2)))
        .ToList();

    [Fact]
    public void Best_epoch_is_the_first_with_the_highest_validation_accuracy()
    {
        List<EpochRecord> history =
        [
            new(1, 1, 0.5, 1, 0.60), new(2, 1, 0.6, 1, 0.70), new(3, 1, 0.7, 1, 0.70), new(4, 1, 0.8, double.NaN, double.NaN),
        ];
        Assert.Equal(2, EpochRecord.Best(history)!.Epoch);
        Assert.Null(EpochRecord.Best([]));
    }

    [Fact]
    public void Curves_png_is_named_after_the_experiment_and_decodes_at_its_size()
    {
        using var folder = new TempFolder();
        var path = TrainingCurvesChart.Save(folder.Path, "resnet18_finetune", History(12, 0.9));
        Assert.Equal("resnet18_finetune_curves.png", Path.GetFileName(path));
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal(TrainingCurvesChart.Width, bitmap.Width);
        Assert.Equal(TrainingCurvesChart.Height, bitmap.Height);
    }

    [Fact]
    public void Curves_survive_a_single_epoch_an_empty_history_and_a_nan_loss()
    {
        List<EpochRecord> diverged = [new(1, double.NaN, 0.1, double.PositiveInfinity, 0.1), new(2, 1, 0.2, 1, 0.2)];
        foreach (var history in new[] { History(1, 0.5), [], diverged })
            Assert.NotNull(SKBitmap.Decode(TrainingCurvesChart.Render("edge", history)));
    }

    [Fact]
    public void Learning_rate_chart_draws_both_groups_and_is_absent_without_rates()
    {
        // A constant 1e-4 (the axis in units of 1e-4 keeps it off the frame) and a decaying pair, 10x apart.
        List<EpochRecord> constant = [.. Enumerable.Range(1, 3).Select(e => new EpochRecord(e, 1, 0.5, 1, 0.5, [1e-4, 1e-4]))];
        List<EpochRecord> decaying = [.. Enumerable.Range(1, 5).Select(e => new EpochRecord(e, 1, 0.5, 1, 0.5, [1e-3 / e, 1e-2 / e]))];
        foreach (var history in new[] { constant, decaying })
        {
            using var bitmap = SKBitmap.Decode(LearningRateChart.Render(history));
            Assert.Equal(LearningRateChart.Width, bitmap.Width);
            Assert.True(CountPixels(bitmap, Palette.Color(3)) > 50, "the classifier's line is drawn");
        }
        Assert.Null(LearningRateChart.Render(History(3, 0.5)));
        Assert.Null(LearningRateChart.Render([]));
    }

    [Fact]
    public void Validation_curves_of_several_runs_draw_each_run_in_its_own_colour()
    {
        var png = ValidationCurvesChart.Render([new NamedHistory("finetune", History(10, 0.9)), new NamedHistory("scratch", History(15, 0.6))]);
        using var bitmap = SKBitmap.Decode(png);
        Assert.True(CountPixels(bitmap, Palette.Color(0)) > 100, "the first run's line is missing");
        Assert.True(CountPixels(bitmap, Palette.Color(1)) > 100, "the second run's line is missing");
        Assert.Equal(0, CountPixels(bitmap, Palette.Color(2)));
    }

    [FontFact]
    public void Chart_text_is_drawn_when_a_font_is_available()
    {
        // Same data, different title: only text differs, so different pixels prove the text is drawn.
        var a = SKBitmap.Decode(TrainingCurvesChart.Render("first", History(5, 0.8)));
        var b = SKBitmap.Decode(TrainingCurvesChart.Render("second_experiment", History(5, 0.8)));
        Assert.NotEqual(a.Bytes, b.Bytes);
    }

    [Fact]
    public void A_file_that_is_not_a_font_is_not_used_for_text()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("fake.ttf"), "not a font");
        Assert.Null(ChartFont.TryLoad(folder.File("fake.ttf")));
        Assert.Null(ChartFont.TryLoad(folder.File("missing.ttf")));
    }

    [Theory]
    [InlineData(1.0, 30.0, null, null, -0.45, 31.45)]     // 5% margin on both sides
    [InlineData(20.0, 100.0, 0.0, 100.0, 16.0, 100.0)]    // an accuracy axis stops at 100%
    [InlineData(0.1, 2.0, 0.0, null, 0.005, 2.095)]       // a loss axis stays above 0
    [InlineData(5.0, 5.0, null, null, 4.5, 5.5)]          // a single value (one epoch) still gets a range
    public void Axis_limits_add_a_margin_within_the_given_bounds(double min, double max, double? floor, double? ceiling, double low, double high)
    {
        var (l, h) = NiceTicks.Limits(min, max, floor, ceiling);
        Assert.Equal(low, l, 9);
        Assert.Equal(high, h, 9);
    }

    [Theory]
    [InlineData(-0.45, 31.45, 10, true, new[] { 0.0, 5, 10, 15, 20, 25, 30 })]
    [InlineData(0.55, 1.45, 10, true, new[] { 1.0 })]
    [InlineData(16.0, 100.0, 6, false, new[] { 20.0, 40, 60, 80, 100 })]
    [InlineData(0.005, 2.095, 6, false, new[] { 0.5, 1, 1.5, 2 })]
    public void Ticks_fall_on_nice_steps_inside_the_limits(double low, double high, int maxTicks, bool integers, double[] expected)
        => Assert.Equal(expected, NiceTicks.Within(low, high, maxTicks, integers));

    static int CountPixels(SKBitmap bitmap, SKColor colour)
    {
        var count = 0;
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++)
                if (bitmap.GetPixel(x, y) == colour) count++;
        return count;
    }
}
