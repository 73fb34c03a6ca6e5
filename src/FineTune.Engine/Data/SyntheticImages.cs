using FineTune.Data;
using System.Security.Cryptography;
using System.Text;
using FineTune.Weights;
using static TorchSharp.torch;

namespace FineTune.Data;

/// <summary>
/// Procedurally drawn images for a dataset-free run (quickstart, tests): class k is a set of coloured stripes
/// at angle k·180°/K with a class-specific frequency; phase, shift and pixel noise vary per image, so a model
/// has to learn orientation and colour, not memorise pixels. Deterministic in (seed, part).
/// </summary>
public static class SyntheticImages
{
    /// <summary>
    /// Train and validation sources of <paramref name="classes"/> classes, <paramref name="perClass"/> images each per part,
    /// as rank <paramref name="rank"/> of <paramref name="worldSize"/> sees them: every rank draws the same images and takes its
    /// shard of each epoch's order, as the image-folder loader does (training shards padded to equal length, validation exact).
    /// </summary>
    public static TrainingData Create(int classes, int perClass, int imageSize, int batchSize, int seed, Preprocessing preprocessing, int rank = 0, int worldSize = 1)
    {
        var train = new InMemoryBatchSource(Draw(classes, perClass, imageSize, seed, preprocessing), batchSize, shuffle: true, seed) { Rank = rank, WorldSize = worldSize, PadShards = true };
        var val = new InMemoryBatchSource(Draw(classes, HeldOutPerClass(perClass), imageSize, seed + 7919, preprocessing), batchSize, shuffle: false, seed) { Rank = rank, WorldSize = worldSize, PadShards = false };
        return new TrainingData(train, val, ClassNames(classes), Hash(classes, perClass, imageSize, seed));
    }

    /// <summary>
    /// The held-out test part of the same synthetic dataset (as many images as validation, drawn from a third seed),
    /// so `finetune test` can evaluate a synthetic run on images it never saw in training or model selection.
    /// </summary>
    public static InMemoryBatchSource Test(int classes, int perClass, int imageSize, int batchSize, int seed, Preprocessing preprocessing) =>
        new(Draw(classes, HeldOutPerClass(perClass), imageSize, seed + 2 * 7919, preprocessing), batchSize, shuffle: false, seed);

    public static IReadOnlyList<string> ClassNames(int classes) =>
        Enumerable.Range(0, classes).Select(k => $"stripes_{k * 180 / classes:000}deg").ToList();

    /// <summary>The dataset's identity, stored in checkpoints as their split hash: same parameters, same images.</summary>
    public static string Hash(int classes, int perClass, int imageSize, int seed) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"synthetic;{classes};{perClass};{imageSize};{seed}")));

    static int HeldOutPerClass(int perClass) => Math.Max(2, perClass / 2);

    /// <summary>Images [N, 3, S, S] normalised for <paramref name="preprocessing"/>, and labels [N], classes interleaved.</summary>
    public static (Tensor Images, Tensor Labels) Draw(int classes, int perClass, int size, int seed, Preprocessing preprocessing)
    {
        using var scope = NewDisposeScope();
        int n = classes * perClass;
        var (phaseDraw, tintDraw, noiseDraw) = RandomDraws(n, size, seed);
        var labels = arange(n, dtype: int64) % classes;
        var coords = linspace(0, 1, size);
        var yy = coords.view(1, size, 1).expand(n, size, size);
        var xx = coords.view(1, 1, size).expand(n, size, size);
        var k = labels.to(float32);
        var angle = (k * (MathF.PI / classes)).view(n, 1, 1);
        var freq = (2 + (labels % 3).to(float32) * 1.5f).view(n, 1, 1);
        var phase = (phaseDraw * (2 * MathF.PI)).view(n, 1, 1);
        var wave = sin((xx * cos(angle) + yy * sin(angle)) * freq * (2 * MathF.PI) + phase) * 0.5f + 0.5f;
        // Colour: a class hue mixed with a random tint, so colour alone does not give the class away.
        var hue = (k / classes).view(n, 1);
        var classColour = cat([0.5f + 0.5f * cos(hue * 6.283f), 0.5f + 0.5f * cos(hue * 6.283f + 2.094f), 0.5f + 0.5f * cos(hue * 6.283f + 4.189f)], 1);
        var colour = (classColour * 0.7f + tintDraw * 0.3f).view(n, 3, 1, 1);
        var images = (wave.unsqueeze(1) * colour + noiseDraw * 0.08f).clamp(0, 1);
        var normalised = preprocessing.Normalize(images);
        return (normalised.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The random parts of <see cref="Draw"/>, in its order: phases U[0,1) [N], tints U[0,1) [N, 3], noise N(0,1)
    /// [N, 3, S, S], from one generator seeded with <paramref name="seed"/>. The generator is a native object that
    /// dispose scopes do not track, so it is disposed here; the tensors belong to the caller's scope.
    /// </summary>
    public static (Tensor Phase, Tensor Tint, Tensor Noise) RandomDraws(int n, int size, int seed)
    {
        using var gen = new TorchSharp.torch.Generator((ulong)seed);
        var phase = rand(n, generator: gen);
        var tint = rand(n, 3, generator: gen);
        return (phase, tint, randn(n, 3, size, size, generator: gen));
    }
}

/// <summary>A dataset held as two tensors; batches are slices in an epoch-seeded order, of this rank's shard of it.</summary>
public sealed class InMemoryBatchSource(Tensor images, Tensor labels, int batchSize, bool shuffle, int seed) : IBatchSource
{
    public InMemoryBatchSource((Tensor Images, Tensor Labels) data, int batchSize, bool shuffle, int seed)
        : this(data.Images, data.Labels, batchSize, shuffle, seed) { }

    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;
    /// <summary>Pad the shards to equal length (training: every rank takes the same number of steps); evaluation leaves them exact.</summary>
    public bool PadShards { get; init; } = true;

    /// <summary>Images in the whole dataset (all ranks).</summary>
    public int ImageCount => (int)labels.shape[0];
    /// <summary>Batches of this rank's shard.</summary>
    public int BatchCount => (ShardLength + batchSize - 1) / batchSize;

    int ShardLength => WorldSize == 1 ? ImageCount : EpochOrder.Shard(new int[ImageCount], Rank, WorldSize, PadShards).Length;

    public IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0)
    {
        foreach (var picked in BatchIndices(epoch).Skip(skipBatches))
        {
            using var index = tensor(picked.Select(i => (long)i).ToArray(), dtype: int64);
            yield return new Batch(images.index_select(0, index), labels.index_select(0, index), picked, []);
        }
    }

    public IReadOnlyList<int[]> BatchIndices(int epoch)
    {
        var all = Enumerable.Range(0, ImageCount).ToArray();
        // The order depends only on (seed, epoch): a resumed run replays exactly the batches it would have seen,
        // and every rank computes the same order, then takes every WorldSize-th image of it from its rank on.
        if (shuffle) new Random(unchecked(seed * 100_003 + epoch) & int.MaxValue).Shuffle(all);
        var order = WorldSize == 1 ? all : EpochOrder.Shard(all, Rank, WorldSize, PadShards);
        return Enumerable.Range(0, BatchCount).Select(b => order.Skip(b * batchSize).Take(batchSize).ToArray()).ToList();
    }

    public void Dispose() { images.Dispose(); labels.Dispose(); }

}
