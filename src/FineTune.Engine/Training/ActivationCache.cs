using FineTune.IO;
using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Training;

/// <summary>
/// training.cache_activations: the frozen stages' output (training.freeze_stages) for every training image of this rank,
/// as the first epoch's augmentation drew it, kept in memory so that later epochs train the rest of the network on those
/// same views without loading, decoding or running the frozen stages again. The price is augmentation: epochs 2 on see
/// epoch 1's crops and flips again instead of new ones.
/// The rows are one tensor, allocated when the first batch shows a row's size, and only when all of them fit a third of
/// the memory available then (or <see cref="RunContext.ActivationCacheBytes"/>); otherwise the cache stays off for the run
/// and says so in one line. Rows keep the compute dtype and layout, so a replayed batch is bit for bit what the frozen
/// stages gave.
/// </summary>
/// <param name="images">The distinct samples of this rank's share of the training split: the rows there can be.</param>
/// <param name="budgetBytes">The most the rows may take; null: a third of the memory available when they are allocated.</param>
sealed class ActivationCache(int images, long? budgetBytes) : IDisposable
{
    Tensor? _rows;
    bool _sealed;
    bool _channelsLast;
    readonly Dictionary<int, int> _rowOf = new(images);
    readonly Dictionary<int, int> _standIn = []; // an unreadable file's index -> the sample the loader put in its place
    long[] _labels = [];

    /// <summary>Set when the rows did not fit: the line that says so. The cache then takes nothing.</summary>
    public string? Refusal { get; private set; }

    /// <summary>A whole epoch went into the cache (<see cref="Seal"/>): later epochs can replay from it.</summary>
    public bool Complete => _sealed;

    /// <summary>Rows held: the samples seen so far (an unreadable file has none; its stand-in's row answers for it).</summary>
    public int Count => _rowOf.Count;

    /// <summary>Called after the pass that filled the cache ran to its end; false when the cache was refused.</summary>
    public bool Seal() => _sealed = _rows is not null && Refusal is null;

    public long Bytes => _rows is null ? 0 : _rows.NumberOfElements * _rows.ElementSize;

    /// <summary>
    /// Keeps the rows of one batch: <paramref name="prefix"/> is the frozen stages' output for the samples <paramref name="indices"/>
    /// (as loaded: an unreadable file already replaced), <paramref name="wanted"/> the samples the epoch's order asked for.
    /// </summary>
    public void Add(int[] wanted, int[] indices, Tensor prefix, Tensor labels)
    {
        if (Refusal is not null) return;
        if (_rows is null && !Allocate(prefix)) return;
        using var _ = NewDisposeScope();
        var rows = new List<long>();
        var from = new List<long>();
        var labelValues = labels.cpu().data<long>().ToArray();
        for (int j = 0; j < indices.Length; j++)
        {
            if (wanted.Length == indices.Length && wanted[j] != indices[j]) _standIn.TryAdd(wanted[j], indices[j]);
            if (_rowOf.ContainsKey(indices[j])) continue;
            int row = _rowOf.Count;
            if (row >= images) throw new InvalidOperationException($"the activation cache holds {images} rows; sample {indices[j]} would be one more");
            _rowOf[indices[j]] = row;
            _labels[row] = labelValues[j];
            rows.Add(row);
            from.Add(j);
        }
        if (rows.Count == 0) return;
        using var target = tensor(rows.ToArray(), int64, _rows!.device);
        using var source = tensor(from.ToArray(), int64, prefix.device);
        var picked = Stored(prefix).index_select(0, source);
        _rows.index_copy_(0, target, picked);
    }

    /// <summary>The batch of samples <paramref name="indices"/> from the cache: the frozen stages' output, laid out as they gave it, and the labels.</summary>
    public (Tensor Prefix, Tensor Labels) Batch(int[] indices)
    {
        if (!Complete) throw new InvalidOperationException("the activation cache is not complete yet");
        using var scope = NewDisposeScope();
        var rows = indices.Select(i => (long)_rowOf[_standIn.GetValueOrDefault(i, i)]).ToArray();
        using var index = tensor(rows, int64, _rows!.device);
        var picked = _rows.index_select(0, index);
        var prefix = _channelsLast ? picked.permute(0, 3, 1, 2) : picked;
        var labels = tensor(rows.Select(r => _labels[r]).ToArray(), int64);
        return (prefix.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    /// <summary>Channels-last output is kept as its NHWC storage, so rows stay contiguous and a gathered batch is channels-last again.</summary>
    Tensor Stored(Tensor prefix) => _channelsLast ? prefix.permute(0, 2, 3, 1) : prefix.alias();

    bool Allocate(Tensor prefix)
    {
        _channelsLast = ChannelsLast.Is(prefix) && !prefix.is_contiguous();
        using var sample = Stored(prefix);
        var rowShape = sample.shape[1..];
        long bytes = images * rowShape.Aggregate(1L, (a, b) => a * b) * prefix.ElementSize;
        long budget = budgetBytes ?? AvailableMemory.Bytes() / 3;
        if (bytes > budget)
        {
            Refusal = $"training.cache_activations: the frozen stages' output for {images} training images, [{string.Join(", ", prefix.shape[1..])}] each, " +
                      $"would take {AvailableMemory.Format(bytes)}, more than the cache may use ({AvailableMemory.Format(budget)}{(budgetBytes is null ? ", a third of the memory available" : "")}): " +
                      "every epoch computes them from the images instead. Lower data.image_size or raise freeze_stages to make it fit.";
            return false;
        }
        // Made inside the trainer's per-batch dispose scope, and kept for the whole run: the cache owns it.
        _rows = empty([images, .. rowShape], prefix.dtype, prefix.device).DetachFromDisposeScope();
        _labels = new long[images];
        return true;
    }

    public void Dispose() => _rows?.Dispose();
}
