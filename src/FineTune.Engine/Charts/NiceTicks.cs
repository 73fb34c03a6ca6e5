namespace FineTune.Charts;

/// <summary>Axis ticks at "nice" steps (1, 2 or 5 times a power of ten), as plotting libraries choose them.</summary>
public static class NiceTicks
{
    /// <summary>Ticks covering [min, max] with at most about <paramref name="maxTicks"/> steps, and the axis range they span.</summary>
    public static (double Low, double High, IReadOnlyList<double> Ticks) For(double min, double max, int maxTicks = 6, bool integers = false)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (max < min) (min, max) = (max, min);
        if (max - min < 1e-12)
        {
            var pad = Math.Abs(min) > 1e-12 ? Math.Abs(min) * 0.1 : 1;
            min -= pad;
            max += pad;
        }
        var step = NiceStep((max - min) / Math.Max(1, maxTicks));
        if (integers) step = Math.Max(1, Math.Round(step));
        var low = Math.Floor(min / step) * step;
        var high = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (var i = 0; low + i * step <= high + step * 1e-9; i++) ticks.Add(Math.Round(low + i * step, 10));
        return (low, high, ticks);
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
