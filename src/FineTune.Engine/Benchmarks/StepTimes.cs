using System.Diagnostics;

namespace FineTune.Benchmarks;

/// <summary>
/// Seconds of each timed step: wall clock, and CPU time of the whole process (all threads). On a shared
/// machine other processes stretch wall time; CPU time is disturbed less, so it is quoted beside it.
/// </summary>
public sealed record StepTimes(IReadOnlyList<double> Seconds, IReadOnlyList<double> CpuSeconds)
{
    /// <summary>Runs <paramref name="step"/> <paramref name="warmup"/> times untimed, then <paramref name="steps"/> times timed.</summary>
    public static StepTimes Measure(int warmup, int steps, Action step)
    {
        for (int i = 0; i < warmup; i++) step();
        var wall = new double[steps];
        var cpu = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            var startCpu = Environment.CpuUsage.TotalTime;
            var start = Stopwatch.GetTimestamp();
            step();
            wall[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            cpu[i] = (Environment.CpuUsage.TotalTime - startCpu).TotalSeconds;
        }
        return new StepTimes(wall, cpu);
    }

    public double Median => Quantile(Seconds, 0.5);

    public double MedianCpu => CpuSeconds.Count == 0 ? double.NaN : Quantile(CpuSeconds, 0.5);

    /// <summary>Interquartile range of the wall times relative to their median: how noisy the steps were.</summary>
    public double RelativeSpread => Seconds.Count < 2 ? 0 : (Quantile(Seconds, 0.75) - Quantile(Seconds, 0.25)) / Median;

    public double ImagesPerSecond(int batch) => batch / Median;

    /// <summary>Images per CPU-second: throughput per unit of compute spent, whatever else ran on the machine.</summary>
    public double ImagesPerCpuSecond(int batch) => batch / MedianCpu;

    public StepTimes Concat(StepTimes other) => new([.. Seconds, .. other.Seconds], [.. CpuSeconds, .. other.CpuSeconds]);

    static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) throw new InvalidOperationException("No steps were timed.");
        var sorted = values.Order().ToArray();
        var position = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(position), hi = (int)Math.Ceiling(position);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
    }
}
