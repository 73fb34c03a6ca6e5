namespace FineTune.Charts;

/// <summary>Axis limits and ticks at "nice" steps (1, 2 or 5 times a power of ten), as plotting libraries choose them.</summary>
public static class NiceTicks
{
    /// <summary>
    /// Axis limits like matplotlib's: the data range plus a 5% margin on each side (so no point sits on the
    /// frame), kept within [floor, ceiling] when the data is (an accuracy axis need not pass 100%).
    /// </summary>
    public static (double Low, double High) Limits(double min, double max, double? floor = null, double? ceiling = null)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (max < min) (min, max) = (max, min);
        var margin = max - min < 1e-12 ? Math.Max(Math.Abs(min) * 0.05, 0.5) : (max - min) * 0.05;
        var low = min - margin;
        var high = max + margin;
        if (floor is { } f && min >= f) low = Math.Max(low, f);
        if (ceiling is { } c && max <= c) high = Math.Min(high, c);
        return (low, high);
    }

    /// <summary>Ticks at a nice step inside [low, high], about <paramref name="maxTicks"/> of them at most; whole numbers only when <paramref name="integers"/>.</summary>
    public static IReadOnlyList<double> Within(double low, double high, int maxTicks = 6, bool integers = false)
    {
        var step = NiceStep((high - low) / Math.Max(1, maxTicks));
        if (integers) step = Math.Max(1, Math.Ceiling(step));
        var ticks = new List<double>();
        var first = Math.Ceiling(low / step - 1e-9) * step;
        for (var i = 0; first + i * step <= high + step * 1e-9; i++) ticks.Add(Math.Round(first + i * step, 10));
        return ticks;
    }

    static double NiceStep(double rough)
    {
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var fraction = rough / power;
        var nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * power;
    }

    /// <summary>A tick label with as many decimals as the step needs (0.25 -> "0.25", 10 -> "10").</summary>
    public static string Label(double value, IReadOnlyList<double> ticks)
    {
        var step = ticks.Count > 1 ? Math.Abs(ticks[1] - ticks[0]) : 1;
        var decimals = step >= 1 ? 0 : Math.Min(6, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        return value.ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture);
    }
}
