namespace FineTune.Benchmarks;

/// <summary>One side's measurement of one model in one mode.</summary>
/// <param name="PeakRssBytes">The process's peak resident set while (and before) measuring; null when unknown.</param>
/// <param name="PeakIsPerRow">False when the peak could not be reset, so it covers everything the process did before.</param>
/// <param name="GarbageCollections">.NET collections (all generations) during the timed steps; null for PyTorch.</param>
public sealed record ThroughputResult(string Model, BenchmarkMode Mode, int Batch, StepTimes Times, long? PeakRssBytes, bool PeakIsPerRow,
                                      int? GarbageCollections = null)
{
    public double ImagesPerSecond => Times.ImagesPerSecond(Batch);

    /// <summary>What computed it: "libtorch", "PyTorch", or our evaluation engine ("ONNX Runtime 1.31.1").</summary>
    public string Engine { get; init; } = "libtorch";
}
