namespace FineTune.Reports;

/// <summary>
/// The facts about a tested run that the report's run card shows: what data, which model from which weights, how it
/// was computed and on what machine. Null means not known for this run (the card says so rather than guess).
/// </summary>
public sealed record RunCard
{
    public required string Experiment { get; init; }
    public required string Checkpoint { get; init; }
    /// <summary>Backbone and what the checkpoint holds, e.g. "resnet18, epoch 7, 101 classes".</summary>
    public required string Model { get; init; }
    /// <summary>Where the training started from (the checkpoint's starting weights).</summary>
    public string? Weights { get; init; }
    public string? Data { get; init; }
    /// <summary>The split's hash as the checkpoint records it (split.json's SHA-256; a synthetic set's parameters'), shortened.</summary>
    public string? SplitHash { get; init; }
    /// <summary>How the model was trained, one line (<see cref="RunRecipe.Of"/>).</summary>
    public string? Recipe { get; init; }
    public int? TrainImages { get; init; }
    public int? ValImages { get; init; }
    public int? TestImages { get; init; }
    /// <summary>The precision line the test printed, e.g. "fp32 (as configured)".</summary>
    public string? Precision { get; init; }
    /// <summary>The kernel check's one line, when a check ran.</summary>
    public string? KernelPlan { get; init; }
    /// <summary>What ran the test pass's forwards: ONNX Runtime (and how closely it matched libtorch), or libtorch and why.</summary>
    public string? Evaluation { get; init; }
    public string? Device { get; init; }
    public string? Cpu { get; init; }
    /// <summary>The whole test command until the report, seconds: loading, kernel check and the test pass.</summary>
    public double? WallSeconds { get; init; }
}
