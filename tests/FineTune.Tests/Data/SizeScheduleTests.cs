using FineTune.Config;
using FineTune.Data;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Tests.Training;
using FineTune.Training;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Data;

/// <summary>data.image_size_start (issue 21's resolution schedule): training sizes that rise epoch by epoch.</summary>
[Collection("single-threaded training")]
public class SizeScheduleTests
{
    static ImageDataset Dataset(params int[] perClass) => ImageDataset.FromScan(DatasetScan.Run(TestFiles.Dataset(perClass)));

    [Fact]
    public void Sizes_rise_linearly_from_the_first_to_the_last_epoch_in_steps_of_16()
    {
        Assert.Equal([224, 288], new SizeSchedule(224, 288, 2).Sizes);
        Assert.Equal([160, 192, 224, 256, 288], new SizeSchedule(160, 288, 5).Sizes);
        // 224 + 64/3 = 245.3 -> 240; 224 + 128/3 = 266.7 -> 256: rounded down between the ends, which stay exact.
        Assert.Equal([224, 240, 256, 288], new SizeSchedule(224, 288, 4).Sizes);
        var one = new SizeSchedule(100, 130, 1);
        Assert.Equal(130, one.For(1)); // a single epoch trains at the final size
        Assert.Equal(130, new SizeSchedule(100, 130, 3).For(7)); // past the last epoch (a longer resumed run): the last size
        Assert.Equal(100, new SizeSchedule(100, 130, 3).For(1));
        Assert.Equal(112, new SizeSchedule(100, 130, 3).For(2)); // 115 -> 112, not below the first
        Assert.Equal("224 -> 288 px", new SizeSchedule(224, 288, 2).ToString());
    }

    [Fact]
    public void The_config_resolves_a_schedule_only_when_the_start_differs_from_the_training_size()
    {
        var d = new DataConfig { ImageSize = 288, ImageSizeStart = 224 };
        Assert.Equal(new SizeSchedule(224, 288, 3), d.SizeScheduleFor(224, 3));
        Assert.Null((d with { ImageSizeStart = 288 }).SizeScheduleFor(224, 3));
        Assert.Null((d with { ImageSizeStart = null }).SizeScheduleFor(224, 3));
        Assert.Equal(new SizeSchedule(160, 224, 2), new DataConfig { ImageSizeStart = 160 }.SizeScheduleFor(224, 2)); // image_size null: the weights' size
    }

    [Fact]
    public void The_report_recipe_states_the_schedule()
    {
        var config = FineTuneConfig.Defaults with
        {
            Data = new DataConfig { ImageSize = 288, ImageSizeStart = 224, EvalImageSize = 320 },
            Training = new TrainingConfig { NumEpochs = 2 },
        };
        var recipe = FineTune.Reports.RunRecipe.Of(new FineTune.Training.Checkpoints.CheckpointInfo { Optimizer = "AdamW", ConfigYaml = ConfigPrinter.ToYaml(config) });
        Assert.EndsWith("image_size: 224 -> 288 px (evaluation 320)", recipe);
        Assert.Equal(config.Data, ConfigLoader.Parse(ConfigPrinter.ToYaml(config), "printed").Data); // the key round-trips through a checkpoint's config
    }

    [Fact]
    public void Each_epoch_renders_at_its_scheduled_size_the_same_pixels_a_loader_of_that_size_gives()
    {
        var data = Dataset(5, 4);
        var schedule = new SizeSchedule(32, 64, 3);
        using var scheduled = new DataLoader(data, new TrainTransform(Size: 64) { Schedule = schedule }, Preprocessing.ImageNet, new LoaderOptions(BatchSize: 4, NumWorkers: 2));
        foreach (var (epoch, size) in new[] { (1, 32), (2, 48), (3, 64), (4, 64) })
        {
            using var fixedSize = new DataLoader(data, new TrainTransform(Size: size), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 4, NumWorkers: 2));
            var batches = scheduled.Epoch(epoch).ToList();
            try
            {
                Assert.All(batches, b => Assert.Equal(new long[] { b.Count, 3, size, size }, b.Images.shape));
                // Same crops, flips and rotations as a plain loader at that size: the schedule changes the size, nothing else.
                var expected = fixedSize.Epoch(epoch).SelectMany(b => { using (b) return b.Images.data<float>().ToArray(); }).ToArray();
                Assert.Equal(expected, batches.SelectMany(b => b.Images.data<float>().ToArray()).ToArray());
            }
            finally { foreach (var b in batches) b.Dispose(); }
        }
    }

    [Fact]
    public void The_image_cache_keeps_the_largest_size_so_the_last_epochs_are_not_upscaled()
    {
        var data = Dataset(4, 4);
        // A cache filled in epoch 1 (at 32 px) must still serve epoch 3 at 64 px from a copy at least 64 px on its shorter side.
        float[] Epoch3(bool cache)
        {
            using var loader = new DataLoader(data, new TrainTransform(Size: 64) { Schedule = new SizeSchedule(32, 64, 3) }, Preprocessing.ImageNet,
                new LoaderOptions(BatchSize: 4, NumWorkers: 1, CacheImages: cache));
            for (int e = 1; e < 3; e++) foreach (var b in loader.Epoch(e)) b.Dispose();
            return loader.Epoch(3).SelectMany(b => { using (b) return b.Images.data<float>().ToArray(); }).ToArray();
        }
        var plain = Epoch3(false);
        var cached = Epoch3(true);
        double mean = plain.Zip(cached).Average(p => Math.Abs(p.First - p.Second));
        // The test images are at most 48 px wide: a copy kept at 32 px would lose a third of their detail; at 64 px only rounding moves.
        Assert.True(mean < 0.02, $"mean difference {mean} between epoch 3 from the cache and decoded afresh");
    }

    [Fact]
    public void The_kernel_check_probes_every_size_the_schedule_trains_at()
    {
        var config = FineTuneConfig.Defaults with
        {
            Data = new DataConfig { ImageSize = 288, ImageSizeStart = 224, EvalImageSize = 320 },
            Training = new TrainingConfig { NumEpochs = 2 },
        };
        var probes = KernelRequest.ForConfig(config, training: true).Probes();
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @224" && p.Backward && p.Batch == KernelRequest.MaxBatch);
        Assert.Contains(probes, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @288" && p.Backward && p.Batch == KernelRequest.MaxBatch);
        var without = KernelRequest.ForConfig(config with { Data = config.Data with { ImageSizeStart = null } }, training: true).Probes();
        Assert.DoesNotContain(without, p => p.Shape.ToString() == "conv 7x7 3->64 s2 @224" && p.Backward);
        Assert.NotEqual(KernelCheck.Key(KernelRequest.ForConfig(config, training: true)), KernelCheck.Key(KernelRequest.ForConfig(config with { Data = config.Data with { ImageSizeStart = null } }, training: true)));
    }

    [Fact]
    public void A_run_on_a_folder_trains_each_epoch_at_its_size_and_says_so()
    {
        set_num_threads(1);
        var root = Tiny.TempFolder();
        var config = Tiny.Config(root, epochs: 3) with
        {
            Data = new DataConfig { Source = DataSource.Folder, DataDir = TestFiles.Dataset(6, 6, 6, 6), BatchSize = 8, ImageSize = 64, ImageSizeStart = 32, NumWorkers = 1, Seed = 3 },
        };
        var sizes = new List<(int Epoch, long Size)>();
        var data = FolderTrainingData.Open(config, Preprocessing.ImageNet);
        data = data with { Train = new InterceptingSource(data.Train, (epoch, _, batch) => { lock (sizes) sizes.Add((epoch, batch.Images.shape[3])); return batch; }) };
        var log = new StringWriter();
        var result = new Trainer(config, new ModelToTrain(Tiny.Model(), Preprocessing.ImageNet), data, new RunContext(new ProgressReporter(log))).Run();
        Assert.Equal(3, result.History.Count);
        Assert.Equal([(1, 32L), (2, 48L), (3, 64L)], sizes.Distinct().OrderBy(s => s.Epoch));
        Assert.Contains("Epoch 1/3 trains at 32 px (data.image_size_start: 32 -> 48 -> 64 px).", log.ToString());
        Assert.Contains("Epoch 3/3 trains at 64 px", log.ToString());
    }
}
