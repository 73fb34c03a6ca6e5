using System.Collections.Concurrent;
using FineTune.IO;
using FineTune.Weights;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Data;

/// <param name="BatchSize">Images per batch.</param>
/// <param name="NumWorkers">Threads decoding and augmenting; each builds whole batches, like PyTorch's workers.</param>
/// <param name="Shuffle">Visit samples in the (seed, epoch) permutation; off for evaluation.</param>
/// <param name="DropLast">Drop the last batch when it is smaller than BatchSize.</param>
/// <param name="Seed">Seeds the permutation and every augmentation: same seed, epoch and index give the same tensor.</param>
/// <param name="PrefetchPerWorker">Batches each worker may have ready ahead of the consumer (bounds memory).</param>
/// <param name="CacheImages">Keep decoded images in memory, shrunk to the working size's shorter side (about Size² x 1.3 x 4 bytes each),
/// up to <paramref name="CacheBudgetBytes"/>; the images beyond it are decoded again every epoch (<see cref="DataLoader.CacheNote"/> says so).</param>
/// <param name="CacheBudgetBytes">The most the image cache holds; null: a third of the memory available when the loader is made.</param>
/// <param name="Rank">This process's rank among <paramref name="WorldSize"/>: it takes every WorldSize-th sample of the epoch order.</param>
/// <param name="PadShards">Pad the shards to equal length (training: every rank takes the same number of steps); evaluation leaves them exact.</param>
/// <param name="ReplaceUnreadable">Put the next readable image of this rank's shard in place of a file that fails to decode, so every
/// batch is full and every rank takes the same number of steps (training); otherwise the file is left out of its batch (evaluation).</param>
public sealed record LoaderOptions(int BatchSize = 32, int NumWorkers = 2, bool Shuffle = true, bool DropLast = false, ulong Seed = 42,
    int PrefetchPerWorker = 2, bool CacheImages = false, int Rank = 0, int WorldSize = 1, long MaxPixels = ImageDecoder.DefaultMaxPixels,
    bool PadShards = true, bool ReplaceUnreadable = false, long? CacheBudgetBytes = null)
{
    public LoaderOptions Validate()
    {
        if (BatchSize < 1) throw new DatasetException($"data.batch_size is {BatchSize}; use 1 or more.");
        if (NumWorkers < 1) throw new DatasetException($"data.num_workers is {NumWorkers}; use 1 or more (the loader always decodes on worker threads).");
        if (PrefetchPerWorker < 1) throw new DatasetException($"Prefetch per worker is {PrefetchPerWorker}; use 1 or more.");
        if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize) throw new DatasetException($"Rank {Rank} of world size {WorldSize} is invalid; use 0 <= rank < world size.");
        return this;
    }
}

/// <summary>
/// One batch: images [N, 3, H, W] float32, normalised for the weights; labels [N] int64; and which samples they are.
/// Its tensors are made on a worker thread, so no dispose scope of the consumer owns them: dispose the batch
/// (`using var batch = ...` or `foreach ... using (batch)`) when the step is done, so memory stays flat.
/// </summary>
public sealed class Batch(Tensor images, Tensor labels, int[] indices, string[] paths) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    /// <summary>Indices into the dataset's samples.</summary>
    public int[] Indices { get; } = indices;
    public string[] Paths { get; } = paths;
    public int Count => Indices.Length;

    public void Dispose() { Images.Dispose(); Labels.Dispose(); }
}

/// <summary>
/// Serves an <see cref="ImageDataset"/> as batches: NumWorkers threads each build whole batches (decode, one affine
/// resample, normalise straight into the batch tensor) and keep up to PrefetchPerWorker of them ready; the consumer takes them in order.
/// A file that fails to decode is recorded in <see cref="Problems"/> and never stops an epoch: it is left out of its batch, or
/// with <see cref="LoaderOptions.ReplaceUnreadable"/> replaced by the next readable sample of the shard (as DistributedSampler pads).
/// </summary>
public sealed class DataLoader : IDisposable
{
    readonly ImageDataset _dataset;
    readonly ImageTransform _transform;
    readonly Preprocessing _preprocessing;
    readonly LoaderOptions _options;
    readonly ConcurrentDictionary<int, CachedImage> _cache = new();
    readonly long _cacheBudget;
    long _cachedBytes;
    int _cacheFull; // 1 once an image did not fit: later ones skip the shrunk copy and decode as without a cache
    readonly ConcurrentDictionary<string, ImageProblem> _problems = new();

    sealed record CachedImage(SKBitmap Bitmap, int OriginalWidth, int OriginalHeight);

    public DataLoader(ImageDataset dataset, ImageTransform transform, Preprocessing preprocessing, LoaderOptions options)
    {
        _dataset = dataset;
        _transform = transform switch
        {
            TrainTransform t => t.Validate(),
            EvalTransform e => e.Validate(),
            _ => transform,
        };
        _preprocessing = preprocessing;
        _options = options.Validate();
        _cacheBudget = options.CacheImages ? options.CacheBudgetBytes ?? AvailableMemory.Bytes() / 3 : 0;
        if (dataset.Count == 0) throw new DatasetException($"The dataset under '{dataset.Root}' has no images to load; check the data folder and the split.");
    }

    public ImageDataset Dataset => _dataset;

    /// <summary>
    /// Null while every decoded image fits the cache's budget; once one did not, a line saying how many are kept and that
    /// the rest are decoded every epoch. Which ones were kept depends on the workers' timing, and a kept image is rendered
    /// from its shrunk copy, so such a run's pixels may differ from a rerun's by resampling rounding.
    /// </summary>
    public string? CacheNote => Volatile.Read(ref _cacheFull) == 0 ? null :
        $"data.cache_images: {_cache.Count} of {_dataset.Count} images are kept in memory ({AvailableMemory.Format(Interlocked.Read(ref _cachedBytes))}; " +
        $"the cache may take {AvailableMemory.Format(_cacheBudget)}, a third of the memory available when training started); the other {_dataset.Count - _cache.Count} are decoded again every epoch.";
    public IReadOnlyCollection<ImageProblem> Problems => _problems.Values.OrderBy(p => p.RelativePath, StringComparer.Ordinal).ToList();

    /// <summary>The sample indices this process visits in an epoch, in order.</summary>
    public int[] EpochIndices(int epoch)
    {
        var order = _options.Shuffle ? EpochOrder.Shuffled(_options.Seed, epoch, _dataset.Count) : Enumerable.Range(0, _dataset.Count).ToArray();
        return _options.WorldSize == 1 ? order : EpochOrder.Shard(order, _options.Rank, _options.WorldSize, padToEqual: _options.PadShards);
    }

    /// <summary>The sample indices of each batch of <paramref name="epoch"/>, in the order <see cref="Epoch"/> yields them (before any unreadable file is replaced).</summary>
    public List<int[]> EpochBatches(int epoch)
    {
        var indices = EpochIndices(epoch);
        var bs = _options.BatchSize;
        var batches = new List<int[]>();
        for (int i = 0; i < indices.Length; i += bs)
        {
            var chunk = indices[i..Math.Min(i + bs, indices.Length)];
            if (chunk.Length < bs && _options.DropLast) break;
            batches.Add(chunk);
        }
        return batches;
    }

    public int BatchesPerEpoch(int epoch = 0)
    {
        int n = EpochIndices(epoch).Length;
        return _options.DropLast ? n / _options.BatchSize : (n + _options.BatchSize - 1) / _options.BatchSize;
    }

    /// <summary>
    /// The batches of one epoch. Each worker writes its images straight into the memory of a fresh tensor, so the training
    /// step receives it without a copy; the consumer owns each batch and disposes it. Breaking out of the loop stops the
    /// workers and disposes the batches they had prepared.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        // A resolution schedule renders each epoch at its own size; the image cache keeps the largest (the transform's own).
        var transform = _transform is TrainTransform train ? train.ForEpoch(epoch) : _transform;
        var indices = EpochIndices(epoch);
        var batches = EpochBatches(epoch);
        int workers = Math.Min(_options.NumWorkers, Math.Max(1, batches.Count));
        var queues = Enumerable.Range(0, workers).Select(_ => new BlockingCollection<(Batch? Batch, Exception? Error)>(_options.PrefetchPerWorker)).ToArray();
        using var stop = new CancellationTokenSource();
        var threads = new Thread[workers];
        for (int w = 0; w < workers; w++)
        {
            int worker = w;
            threads[w] = new Thread(() => Work(worker, workers, epoch, transform, indices, batches, queues[worker], stop.Token)) { IsBackground = true, Name = $"finetune-loader-{w}" };
            threads[w].Start();
        }
        try
        {
            for (int b = 0; b < batches.Count; b++)
            {
                var (batch, error) = queues[b % workers].Take(stop.Token);
                if (error is DatasetException) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error); // a user-facing message
                if (error is not null) throw new InvalidOperationException($"Data loader worker failed: {error.Message}", error);
                if (batch is not null) yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            foreach (var t in threads) t.Join();
            foreach (var q in queues)
            {
                while (q.TryTake(out var left)) left.Batch?.Dispose();
                q.Dispose();
            }
        }
    }

    void Work(int worker, int workers, int epoch, ImageTransform transform, int[] shard, List<int[]> batches, BlockingCollection<(Batch?, Exception?)> queue, CancellationToken stop)
    {
        Batch? pending = null;
        try
        {
            using var renderer = new ImageRenderer(_preprocessing);
            int s = transform.Size, plane = 3 * s * s;
            for (int b = worker; b < batches.Count; b += workers)
            {
                var wanted = batches[b];
                var images = torch.empty([wanted.Length, 3, s, s], float32);
                var kept = new List<int>(wanted.Length);
                try
                {
                    var pixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(images.bytes);
                    for (int j = 0; j < wanted.Length; j++)
                    {
                        stop.ThrowIfCancellationRequested();
                        if (RenderSample(renderer, transform, wanted[j], epoch, pixels.Slice(kept.Count * plane, plane))) kept.Add(wanted[j]);
                        else if (_options.ReplaceUnreadable) kept.Add(Substitute(renderer, transform, epoch, shard, b * _options.BatchSize + j, pixels.Slice(kept.Count * plane, plane)));
                    }
                }
                catch { images.Dispose(); throw; }
                if (kept.Count == 0)
                {
                    // Nothing usable: an empty marker keeps the consumer's batch order; it never sees an empty batch.
                    images.Dispose();
                    queue.Add((null, null), stop);
                    continue;
                }
                if (kept.Count < wanted.Length)
                {
                    // Unusable files were left out: keep only the rows that were written.
                    // The narrow view is a tensor handle of its own; this thread has no dispose scope to catch it.
                    Tensor shorter;
                    using (var rows = images.narrow(0, 0, kept.Count)) shorter = rows.clone();
                    images.Dispose();
                    images = shorter;
                }
                var labels = torch.tensor(kept.Select(i => (long)_dataset.Samples[i].Label).ToArray(), int64);
                pending = new Batch(images, labels, kept.ToArray(), kept.Select(i => _dataset.Samples[i].RelativePath).ToArray());
                queue.Add((pending, null), stop);
                pending = null;
            }
        }
        catch (OperationCanceledException) { pending?.Dispose(); }
        catch (Exception e)
        {
            pending?.Dispose();
            try { queue.Add((null, e), stop); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>
    /// The first readable sample after position <paramref name="position"/> of the shard (wrapping around), rendered into
    /// <paramref name="destination"/> with its own augmentation: deterministic whatever the workers' timing, since it depends
    /// only on the files. Known-bad files are skipped without reading them again.
    /// </summary>
    int Substitute(ImageRenderer renderer, ImageTransform transform, int epoch, int[] shard, int position, Span<float> destination)
    {
        for (int k = 1; k < shard.Length; k++)
        {
            int candidate = shard[(position + k) % shard.Length];
            if (_problems.ContainsKey(_dataset.Samples[candidate].RelativePath)) continue;
            if (RenderSample(renderer, transform, candidate, epoch, destination)) return candidate;
        }
        throw new DatasetException(
            $"No image of this process's share of '{_dataset.Root}' can be decoded ({_problems.Count} unreadable, e.g. {_problems.Keys.Order(StringComparer.Ordinal).First()}): check the data folder, or run `finetune data verify`.");
    }

    /// <summary>Decodes and augments one sample into <paramref name="destination"/>; false (and a recorded problem) if the file is unusable.</summary>
    bool RenderSample(ImageRenderer renderer, ImageTransform transform, int index, int epoch, Span<float> destination)
    {
        var sample = _dataset.Samples[index];
        var random = new SplitMix64(SplitMix64.Mix((long)_options.Seed, epoch, index));
        try
        {
            if (_cache.TryGetValue(index, out var cached))
            {
                var plan = transform.Plan(cached.OriginalWidth, cached.OriginalHeight, ref random);
                renderer.Render(cached.Bitmap, cached.Bitmap.Width / (float)cached.OriginalWidth, plan, destination);
                return true;
            }
            var bytes = File.ReadAllBytes(sample.FullPath);
            using var data = SKData.CreateCopy(bytes);
            using var codec = ImageDecoder.OpenCodec(data, bytes, _options.MaxPixels);
            var (width, height) = ImageDecoder.ShownSize(codec);
            var planned = transform.Plan(width, height, ref random);
            if (_options.CacheImages && Volatile.Read(ref _cacheFull) == 0)
            {
                // Decoded no larger than the cached copy needs (a JPEG at 1/2, 1/4 or 1/8 inside the IDCT): a 12-megapixel
                // phone photo cached at 288 px is decoded at 1/8, several times cheaper than in full, as evaluation decodes it.
                using var full = ImageDecoder.DecodeRgba(codec, Math.Min(1f, _transform.Size / (float)Math.Min(width, height)));
                var small = ImageRenderer.Shrink(full, _transform.Size);
                long kept = small.ByteCount;
                if (Interlocked.Add(ref _cachedBytes, kept) > _cacheBudget)
                {
                    Interlocked.Add(ref _cachedBytes, -kept);
                    Volatile.Write(ref _cacheFull, 1);
                    using (small) renderer.Render(small, small.Width / (float)width, planned, destination);
                    return true;
                }
                var entry = _cache.GetOrAdd(index, _ => new CachedImage(small, width, height));
                if (!ReferenceEquals(entry.Bitmap, small)) { small.Dispose(); Interlocked.Add(ref _cachedBytes, -kept); }
                renderer.Render(entry.Bitmap, entry.Bitmap.Width / (float)width, planned, destination);
                return true;
            }
            using var bitmap = ImageDecoder.DecodeRgba(codec, planned.RequiredSourceScale);
            renderer.Render(bitmap, bitmap.Width / (float)width, planned, destination);
            return true;
        }
        catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException)
        {
            _problems.TryAdd(sample.RelativePath, new ImageProblem(sample.RelativePath, e.Message));
            return false;
        }
    }

    public void Dispose()
    {
        foreach (var c in _cache.Values) c.Bitmap.Dispose();
        _cache.Clear();
    }
}
