using FineTune.Data;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>
/// Training loaders (LoaderOptions.ReplaceUnreadable) put the next readable image of the shard in place of a file that
/// fails to decode, so every batch is full and every rank of a distributed run takes the same steps.
/// </summary>
public class UnreadableReplacementTests
{
    static ImageDataset Dataset(params int[] perClass) => ImageDataset.FromScan(DatasetScan.Run(TestFiles.Dataset(perClass)));

    static List<int[]> Indices(DataLoader loader, int epoch) => loader.Epoch(epoch).Select(b => { using (b) return b.Indices; }).ToList();

    [Theory]
    [InlineData(1, 0)] // one process
    [InlineData(2, 0)] // rank 0 of 2
    [InlineData(2, 1)] // rank 1 of 2
    public void Every_batch_is_full_and_the_stand_in_comes_from_the_same_shard(int world, int rank)
    {
        var data = Dataset(5, 5);
        var options = new LoaderOptions(BatchSize: 1, NumWorkers: 2, Seed: 7, Rank: rank, WorldSize: world, ReplaceUnreadable: true);
        using var probe = new DataLoader(data, new TrainTransform(Size: 16), Preprocessing.ImageNet, options);
        var shard = probe.EpochIndices(0);
        // Break the shard's first two samples: batches of one, so without a stand-in two whole batches would vanish.
        foreach (var i in shard.Take(2)) File.WriteAllBytes(data.Samples[i].FullPath, ImageDecoderTests.Broken("truncated"));

        using var loader = new DataLoader(data, new TrainTransform(Size: 16), Preprocessing.ImageNet, options);
        var batches = Indices(loader, 0);
        Assert.Equal(loader.BatchesPerEpoch(0), batches.Count);
        Assert.All(batches, b => Assert.Single(b));
        // Both broken samples are stood in for by the first readable one after them in the shard, whatever the workers' timing.
        Assert.Equal(shard[2], batches[0][0]);
        Assert.Equal(shard[2], batches[1][0]);
        Assert.Equal(shard.Skip(2), batches.Skip(2).Select(b => b[0]));
        Assert.Equal(shard.Take(2).Select(i => data.Samples[i].RelativePath).Order(StringComparer.Ordinal), loader.Problems.Select(p => p.RelativePath));
        Assert.Equal(batches, Indices(loader, 0)); // the same again, now that the broken files are known
    }

    [Fact]
    public void A_shard_with_no_readable_image_is_one_clear_error()
    {
        var data = Dataset(2);
        foreach (var s in data.Samples) File.WriteAllBytes(s.FullPath, []);
        using var loader = new DataLoader(data, new EvalTransform(Size: 8), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 2, ReplaceUnreadable: true));
        var e = Assert.Throws<DatasetException>(() => Indices(loader, 0));
        Assert.Contains("No image of this process's share", e.Message);
        Assert.Contains("finetune data verify", e.Message);
    }
}
