using FineTune.Benchmarks;
using Xunit;

namespace FineTune.Tests.Benchmarks;

public class StepTimesTests
{
    [Fact]
    public void Warm_up_steps_run_but_are_not_timed()
    {
        int calls = 0;
        var times = StepTimes.Measure(warmup: 2, steps: 3, () => calls++);
        Assert.Equal(5, calls);
        Assert.Equal(3, times.Seconds.Count);
        Assert.Equal(3, times.CpuSeconds.Count);
        Assert.All(times.Seconds, s => Assert.True(s >= 0));
    }

    [Fact]
    public void The_median_ignores_one_slow_step_and_gives_images_per_second()
    {
        var times = new StepTimes([2.0, 1.0, 30.0, 1.0, 2.0], [4.0, 2.0, 4.0, 2.0, 4.0]);
        Assert.Equal(2.0, times.Median, 12);
        Assert.Equal(16.0, times.ImagesPerSecond(32), 12);
        Assert.Equal(8.0, times.ImagesPerCpuSecond(32), 12);
        Assert.Equal(0.5, times.RelativeSpread, 12); // quartiles 1 and 2 around a median of 2
    }

    [Fact]
    public void Rounds_pool_their_steps()
    {
        var pooled = new StepTimes([1.0, 3.0], [1.0, 1.0]).Concat(new StepTimes([2.0], [1.0]));
        Assert.Equal([1.0, 3.0, 2.0], pooled.Seconds);
        Assert.Equal(2.0, pooled.Median, 12);
    }

    [Fact]
    public void Settings_out_of_range_are_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new BenchmarkSettings { Steps = 0 }.Validate());
        Assert.Contains("--steps", e.Message);
        e = Assert.Throws<ArgumentException>(() => new BenchmarkSettings { Size = 16 }.Validate());
        Assert.Contains("--size", e.Message);
    }
}
