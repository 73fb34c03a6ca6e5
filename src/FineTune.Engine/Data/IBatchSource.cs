using FineTune.Data;
using FineTune.Config;
using FineTune.Weights;
using static TorchSharp.torch;

namespace FineTune.Data;

/// <summary>
/// What the trainer needs from a data pipeline: the batches of one epoch, in an order that depends only on
/// the epoch number (so a resumed run sees the same batches as an uninterrupted one). Disposing it releases what it
/// holds (loader threads, cached images, tensors).
/// </summary>
public interface IBatchSource : IDisposable
{
    int ImageCount { get; }
    int BatchCount { get; }
    /// <summary>The batches of <paramref name="epoch"/> (1-based), skipping the first <paramref name="skipBatches"/> (resume mid-epoch).</summary>
    IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0);
    /// <summary>Files that failed to decode so far (each once); a source that decodes nothing has none.</summary>
    IReadOnlyCollection<ImageProblem> Problems => [];
    /// <summary>A line for the user when an in-memory cache had to stop short of the whole split; null when it did not (or there is none).</summary>
    string? CacheNote => null;
    /// <summary>
    /// The sample indices of each batch of <paramref name="epoch"/>, in order, without loading anything: what a cache of
    /// per-image results needs to assemble the same batches; null where the source cannot say.
    /// </summary>
    IReadOnlyList<int[]>? BatchIndices(int epoch) => null;
}

/// <summary>
/// A dataset ready to train on: training and validation batches, the class names, and the split's identity. Whoever
/// opens it disposes it, which disposes its sources.
/// </summary>
public sealed record TrainingData(IBatchSource Train, IBatchSource Val, IReadOnlyList<string> ClassNames, string SplitManifestHash) : IDisposable
{
    /// <summary>
    /// The training images with the evaluation transform (no augmentation, a fixed order), for features computed
    /// once (training.linear_probe_epochs); null where the source has none, and the probe then reads <see cref="Train"/>.
    /// </summary>
    public IBatchSource? TrainUnaugmented { get; init; }

    public void Dispose()
    {
        Train.Dispose();
        Val.Dispose();
        TrainUnaugmented?.Dispose();
    }
}

/// <summary>Raised when the dataset is missing; the message says how to get it.</summary>
public sealed class DatasetNotFoundException(string message) : FineTuneException(message);

/// <summary>Opens the data a config names, with the preprocessing of the chosen weights.</summary>
public interface ITrainingDataFactory
{
    TrainingData Open(FineTuneConfig config, Preprocessing preprocessing);
}
