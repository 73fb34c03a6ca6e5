using FineTune.Data;
using FineTune.Weights;
using SkiaSharp;
using static TorchSharp.torch;
using Xunit;

namespace FineTune.Tests.Data;

public class DataLoaderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static ImageDataset Dataset(params int[] perClass) => ImageDataset.FromScan(DatasetScan.Run(TestFiles.Dataset(perClass)));

    /// <summary>Every pixel of an epoch, batch after batch, copied out of the tensors (which are then disposed).</summary>
    static float[] Pixels(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).SelectMany(b => { using (b) return b.Images.data<float>().ToArray(); }).ToArray();

    [Fact]
    public void Batches_are_normalised_float_images_and_int64_labels()
    {
        using var loader = new DataLoader(Dataset(5, 5), new TrainTransform(Size: 32), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 4, NumWorkers: 2));
        var batches = loader.Epoch(0).ToList();
        try
        {
            Assert.Equal([4, 4, 2], batches.Select(b => b.Count));
            Assert.Equal(new long[] { 4, 3, 32, 32 }, batches[0].Images.shape);
            Assert.Equal(ScalarType.Float32, batches[0].Images.dtype);
            Assert.Equal(ScalarType.Int64, batches[0].Labels.dtype);
            Assert.Equal(Enumerable.Range(0, 10), batches.SelectMany(b => b.Indices).Order());
            var labels = batches.SelectMany(b => b.Labels.data<long>().ToArray()).ToArray();
            var expected = batches.SelectMany(b => b.Indices).Select(i => (long)loader.Dataset.Samples[i].Label).ToArray();
            Assert.Equal(expected, labels);
            Assert.True(batches[0].Images.min().item<float>() < -1f, "normalised with ImageNet mean/std, not 0..1");
        }
        finally { foreach (var b in batches) b.Dispose(); }
    }

    [Fact]
    public void Same_seed_epoch_and_index_give_the_same_tensors_whatever_the_workers()
    {
        var data = Dataset(6, 6);
        float[] Run(int workers, int epoch, ulong seed)
        {
            using var loader = new DataLoader(data, new TrainTransform(Size: 24), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 5, NumWorkers: workers, Seed: seed));
            return Pixels(loader, epoch);
        }
        var a = Run(1, 0, 42);
        Assert.Equal(a, Run(3, 0, 42));
        Assert.NotEqual(a, Run(1, 1, 42));
        Assert.NotEqual(a, Run(1, 0, 43));
    }

    [Fact]
    public void Drop_last_drops_the_partial_batch()
    {
        using var loader = new DataLoader(Dataset(5, 6), new EvalTransform(Size: 16), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 4, DropLast: true, Shuffle: false));
        Assert.Equal(2, loader.BatchesPerEpoch());
        Assert.Equal([4, 4], loader.Epoch(0).Select(b => { using (b) return b.Count; }));
    }

    [Fact]
    public void Epoch_order_depends_on_seed_and_epoch_and_shards_are_disjoint()
    {
        var order = EpochOrder.Shuffled(42, 3, 101);
        Assert.Equal(order, EpochOrder.Shuffled(42, 3, 101));
        Assert.NotEqual(order, EpochOrder.Shuffled(42, 4, 101));
        Assert.Equal(Enumerable.Range(0, 101), order.Order());
        var shards = Enumerable.Range(0, 4).Select(r => EpochOrder.Shard(order, r, 4)).ToArray();
        Assert.Equal(Enumerable.Range(0, 101), shards.SelectMany(s => s).Order());
        var padded = Enumerable.Range(0, 4).Select(r => EpochOrder.Shard(order, r, 4, padToEqual: true)).ToArray();
        Assert.All(padded, s => Assert.Equal(26, s.Length));
    }

    [Fact]
    public void A_file_broken_after_the_scan_is_left_out_of_its_batch_and_reported()
    {
        var data = Dataset(4, 4);
        File.WriteAllBytes(data.Samples[2].FullPath, ImageDecoderTests.Broken("truncated"));
        using var loader = new DataLoader(data, new TrainTransform(Size: 16), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 3, NumWorkers: 2));
        int seen = 0;
        foreach (var b in loader.Epoch(0)) using (b) { seen += b.Count; Assert.Equal(b.Count, (int)b.Images.shape[0]); }
        Assert.Equal(7, seen);
        Assert.Equal(data.Samples[2].RelativePath, Assert.Single(loader.Problems).RelativePath);
    }

    [Fact]
    public void The_image_cache_serves_the_same_geometry()
    {
        // Two-coloured images (left and right halves, of different widths and heights per image): a cache that
        // flipped, shifted or stretched an image would move the colour edge, which solid colours could not show.
        var dir = TestFiles.TempDir("cachegeo");
        var colours = new[] { (SKColors.Red, SKColors.Blue), (SKColors.Yellow, SKColors.Black), (SKColors.White, SKColors.Green) };
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 3; i++)
                TestFiles.Write(dir, $"class{c}/img{i}.png", TestFiles.Encode(200 + 40 * i, 120 + 30 * c, colours[c].Item1, colours[c].Item2, SKEncodedImageFormat.Png));
        var data = ImageDataset.FromScan(DatasetScan.Run(dir));
        float[] Run(bool cache, int epochs)
        {
            using var loader = new DataLoader(data, new EvalTransform(Size: 24), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 9, Shuffle: false, CacheImages: cache));
            float[] last = [];
            for (int e = 0; e < epochs; e++) last = Pixels(loader, e);
            return last;
        }
        var plain = Run(false, 1);
        var cached = Run(true, 2); // second epoch comes from the cache
        Assert.Equal(plain.Length, cached.Length);
        // The pre-shrink changes rounding along the edge, nothing else.
        double mean = plain.Zip(cached).Average(p => Math.Abs(p.First - p.Second));
        Assert.True(mean < 0.02, $"mean difference {mean}");
        var flipped = Enumerable.Range(0, plain.Length).Select(k => plain[k - k % 24 + 23 - k % 24]).ToArray();
        Assert.True(plain.Zip(flipped).Average(p => Math.Abs(p.First - p.Second)) > 1, "the images are not symmetric: a flip would show");
    }

    [Fact]
    public void The_image_cache_stops_at_its_budget_says_so_and_still_serves_every_image()
    {
        // Nine 200x120+ images kept at the 24 px working size: each shrunk copy is about 24 x 40 x 4 bytes.
        var dir = TestFiles.TempDir("cachebudget");
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 3; i++)
                TestFiles.Write(dir, $"class{c}/img{i}.png", TestFiles.Encode(200 + 40 * i, 120 + 30 * c, SKColors.Red, SKColors.Blue, SKEncodedImageFormat.Png));
        var data = ImageDataset.FromScan(DatasetScan.Run(dir));
        (string? Note, int Images) Run(long? budget)
        {
            using var loader = new DataLoader(data, new EvalTransform(Size: 24), Preprocessing.ImageNet,
                new LoaderOptions(BatchSize: 4, NumWorkers: 1, Shuffle: false, CacheImages: true, CacheBudgetBytes: budget));
            int images = 0;
            for (int e = 0; e < 2; e++)
                foreach (var batch in loader.Epoch(e)) using (batch) images += batch.Count;
            return (loader.CacheNote, images);
        }

        var (roomy, all) = Run(null);
        Assert.Null(roomy); // a third of this machine's memory holds nine small images
        Assert.Equal(18, all);

        // Room for about four of them: the rest are decoded every epoch, and the run still gets all nine each epoch.
        var (partial, served) = Run(4 * 24 * 48 * 4);
        Assert.Equal(18, served);
        Assert.NotNull(partial);
        output.WriteLine(partial);
        var kept = int.Parse(System.Text.RegularExpressions.Regex.Match(partial!, @"data.cache_images: (\d+) of 9 images are kept in memory").Groups[1].Value);
        Assert.InRange(kept, 1, 8);
        Assert.Contains($"the other {9 - kept} are decoded again every epoch", partial);

        var (none, _) = Run(1);
        Assert.Contains("data.cache_images: 0 of 9 images are kept in memory", none);
    }

    [Fact]
    public void A_batch_whose_files_all_broke_is_skipped()
    {
        var data = Dataset(2, 2);
        File.WriteAllBytes(data.Samples[0].FullPath, []);
        File.WriteAllBytes(data.Samples[1].FullPath, []);
        using var loader = new DataLoader(data, new EvalTransform(Size: 8), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 2, Shuffle: false));
        var counts = loader.Epoch(0).Select(b => { using (b) return b.Count; }).ToList();
        Assert.Equal([2], counts);
        Assert.Equal(2, loader.Problems.Count);
    }

    [Fact]
    public void Breaking_out_of_an_epoch_stops_the_workers()
    {
        using var loader = new DataLoader(Dataset(10, 10), new TrainTransform(Size: 16), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 2, NumWorkers: 2, PrefetchPerWorker: 1));
        foreach (var b in loader.Epoch(0)) { b.Dispose(); break; }
        Assert.Equal(10, loader.Epoch(1).Sum(b => { using (b) return b.Count; }) / 2);
    }

    [Fact]
    public void Unicode_paths_load()
    {
        var dir = TestFiles.TempDir("uload");
        TestFiles.Write(dir, "café/图片.jpg", TestFiles.Encode(20, 20, SKColors.Red));
        TestFiles.Write(dir, "ß/ü.png", TestFiles.Encode(20, 20, SKColors.Blue, format: SKEncodedImageFormat.Png));
        using var loader = new DataLoader(ImageDataset.FromScan(DatasetScan.Run(dir)), new EvalTransform(Size: 8), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 2));
        using (var batch = loader.Epoch(0).Single()) Assert.Equal(2, batch.Count);
        Assert.Empty(loader.Problems);
    }
}
