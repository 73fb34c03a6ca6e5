using FineTune.Benchmarks;
using FineTune.Data;
using FineTune.Tests.Data;
using Xunit;

namespace FineTune.Tests.Benchmarks;

/// <summary>`finetune bench --data_dir` on a tiny synthetic image folder: both sides load real files in every step. No timing assertions.</summary>
public class EndToEndTests
{
    // With the suite's kernel routes, as `finetune bench` runs with its own check's.
    static BenchmarkSettings Tiny => new() { Batch = 4, Size = 64, Warmup = 1, Steps = 2, Threads = 1, Workers = 2, Images = 16, Routing = TestSetup.Routing };

    /// <summary>16 images of 2 classes (JPEG and PNG, some grey), written once for the class.</summary>
    internal static readonly Lazy<string> Folder = new(() =>
    {
        var dir = Path.Combine(TestFiles.TempDir("e2e"), "images");
        SyntheticDataset.Write(dir, classes: 2, perClass: 8, size: 80);
        return dir;
    });

    [Theory]
    [InlineData(BenchmarkMode.Train, 16, true)]
    [InlineData(BenchmarkMode.Eval, 8, false)] // 2 batches an epoch: the 3 steps run into the next epoch
    public void Ours_times_steps_that_take_full_batches_from_the_loader(BenchmarkMode mode, int count, bool channelsLast)
    {
        var images = BenchmarkImages.Pick(Folder.Value, count);
        Assert.Equal(count, images.Count);
        Assert.Equal(2, images.Classes);
        var result = EndToEndThroughput.Measure("resnet18", mode, images, Tiny with { Images = count, ChannelsLast = channelsLast });
        Assert.Equal(4, result.Batch);
        Assert.Equal(2, result.Times.Seconds.Count);
        Assert.Equal(2, result.Times.CpuSeconds.Count);
        Assert.True(result.ImagesPerSecond > 0 && double.IsFinite(result.ImagesPerSecond), $"{result.ImagesPerSecond} images/s");
    }

    [Fact]
    public void The_same_seed_picks_the_same_images_for_both_sides()
    {
        var a = BenchmarkImages.Pick(Folder.Value, 5).Dataset.Samples.Select(s => s.RelativePath);
        var b = BenchmarkImages.Pick(Folder.Value, 5).Dataset.Samples.Select(s => s.RelativePath);
        Assert.Equal(a, b);
    }

    [PyTorchBenchFact]
    public void PyTorch_side_loads_the_listed_images_in_every_step_and_reports_cpu_with_its_workers()
    {
        using var reference = PyTorchReference.TryCreate(PyTorchReference.DefaultPython, out var why);
        Assert.True(reference is not null, why);
        var images = BenchmarkImages.Pick(Folder.Value, 16);
        var result = reference!.Measure("resnet18", BenchmarkMode.Train, Tiny, images);
        Assert.Equal(2, result.Times.Seconds.Count);
        Assert.Equal(2, result.Times.CpuSeconds.Count); // the workers' CPU could be read from /proc
        Assert.True(result.ImagesPerSecond > 0 && double.IsFinite(result.ImagesPerSecond));
        Assert.True(result.PeakRssBytes > 50L << 20);
    }
}
