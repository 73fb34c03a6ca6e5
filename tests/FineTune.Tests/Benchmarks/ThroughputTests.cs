using FineTune.Benchmarks;
using Xunit;
using FineTune.Training.Memory;

namespace FineTune.Tests.Benchmarks;

/// <summary>Both sides of `finetune bench` on a tiny problem: they run, time real steps and report memory. No timing assertions.</summary>
public class ThroughputTests
{
    // The routes of the suite's kernel check: on a CPU with a faulty channels-last kernel (an AMD EPYC of family 26), libtorch's
    // unrouted forward disagrees with ONNX Runtime and the eval row refuses the engine.
    static BenchmarkSettings Tiny => new() { Batch = 2, Size = 32, Warmup = 1, Steps = 2, Threads = 1, Classes = 10, ChannelsLast = false, Routing = TestSetup.Routing };

    [Theory]
    [InlineData(BenchmarkMode.Train, false)]
    [InlineData(BenchmarkMode.Eval, false)]
    [InlineData(BenchmarkMode.Train, true)]
    [InlineData(BenchmarkMode.Eval, true)]
    public void Ours_times_every_step_and_reports_the_peak_resident_set(BenchmarkMode mode, bool channelsLast)
    {
        var result = ModelThroughput.Measure("resnet18", mode, Tiny with { ChannelsLast = channelsLast });
        Assert.Equal(2, result.Times.Seconds.Count);
        Assert.True(result.ImagesPerSecond > 0 && double.IsFinite(result.ImagesPerSecond));
        if (OperatingSystem.IsLinux())
        {
            Assert.NotNull(result.PeakRssBytes);
            Assert.True(result.PeakRssBytes >= 50L << 20, $"peak RSS {result.PeakRssBytes} bytes is implausibly small for a process with libtorch loaded");
        }
    }

    [Fact]
    public void The_timed_training_steps_are_real_steps_and_the_timed_evaluation_changes_nothing()
    {
        // Measured through the benchmark's own step functions: the loss of the fixed batch falls after the timed
        // training steps, and the timed forward passes leave the weights as they were.
        TorchSharp.torch.manual_seed(0);
        using var model = FineTune.Models.ModelFactory.Create("resnet18", 10, TestSetup.Routing);
        using var images = TorchSharp.torch.randn(4, 3, 32, 32);
        using var labels = TorchSharp.torch.tensor(new long[] { 1, 2, 3, 4 });
        float Loss() { using var _ = TorchSharp.torch.no_grad(); using var l = TorchSharp.torch.nn.functional.cross_entropy(model.call(images), labels); return l.item<float>(); }
        float[] Weights() => model.parameters().First().data<float>().ToArray();

        model.train(); // the loss with batch statistics, as the training steps see it
        var before = Loss();
        var weights = Weights();
        var evalTimes = ModelThroughput.TimeEvaluation(model, images, Tiny);
        Assert.Equal(Tiny.Steps, evalTimes.Seconds.Count);
        Assert.Equal(weights, Weights());

        var trainTimes = ModelThroughput.TimeTraining(model, images, labels, Tiny with { Steps = 3 });
        Assert.Equal(3, trainTimes.Seconds.Count);
        Assert.NotEqual(weights, Weights());
        model.train();
        Assert.True(Loss() < before, "the timed training steps must lower the loss of the batch they train on");
    }

    [Fact]
    public void Peak_resident_set_is_at_least_the_current_one()
    {
        if (!OperatingSystem.IsLinux()) return;
        var rss = ProcessMemory.ResidentBytes();
        var peak = ProcessMemory.PeakResidentBytes();
        Assert.NotNull(rss);
        Assert.True(peak >= rss);
    }

    [PyTorchBenchFact]
    public void PyTorch_side_runs_the_same_work_and_reports_its_own_peak()
    {
        using var reference = PyTorchReference.TryCreate(PyTorchReference.DefaultPython, out var why);
        Assert.True(reference is not null, why);
        Assert.Matches(@"^torch \d+\.\d+", reference!.Versions); // PyTorch 1.x (Debian 12) or 2.x alike
        foreach (var mode in new[] { BenchmarkMode.Train, BenchmarkMode.Eval })
        {
            var result = reference.Measure("resnet18", mode, Tiny with { ChannelsLast = mode == BenchmarkMode.Eval });
            Assert.Equal(2, result.Times.Seconds.Count);
            Assert.Equal(2, result.Times.CpuSeconds.Count);
            Assert.True(result.ImagesPerSecond > 0);
            Assert.True(result.PeakRssBytes > 50L << 20);
        }
    }

    [Fact]
    public void A_missing_interpreter_is_reported_with_the_fix()
    {
        using var reference = PyTorchReference.TryCreate("/nonexistent/python3", out var why);
        Assert.Null(reference);
        Assert.Contains("/nonexistent/python3", why);
        Assert.Contains("apt-get install python3-torch", why);
    }

    [Fact]
    public void An_unreadable_reference_result_names_the_row()
    {
        var e = Assert.Throws<BenchmarkReferenceException>(() => PyTorchReference.Parse("not json", "resnet50", BenchmarkMode.Eval, 32));
        Assert.Contains("resnet50", e.Message);
        var ok = PyTorchReference.Parse("noise\n{\"step_s\": [0.5, 1.0, 2.0], \"cpu_s\": [1, 2, 4], \"peak_rss_bytes\": 1048576}\n", "resnet18", BenchmarkMode.Train, 32);
        Assert.Equal(32.0, ok.ImagesPerSecond, 9);
        Assert.Equal(1048576L, ok.PeakRssBytes);
    }
}
