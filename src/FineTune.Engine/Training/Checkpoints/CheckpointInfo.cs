using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Weights;

namespace FineTune.Training.Checkpoints;

/// <summary>Sums of an epoch that was interrupted part way, so a resume reports the same epoch numbers.</summary>
public sealed record PartialEpoch(int BatchesDone, double LossSum, long Correct, long Seen);

/// <summary>
/// Everything in a checkpoint besides tensors: where training stands, what was trained, and on what.
/// A checkpoint is a zip: checkpoint.json (this), model.bin (TorchSharp state dict), optimizer.bin.
/// </summary>
public sealed record CheckpointInfo
{
    /// <summary>1: evaluation settings only inside <see cref="ConfigYaml"/>; 2: also as <see cref="Evaluation"/> and <see cref="StartingWeights"/>.</summary>
    public const int CurrentFormat = 2;
    public int Format { get; init; } = CurrentFormat;
    /// <summary>Why it was written: best, epoch, early_stop, interrupted.</summary>
    public string Reason { get; init; } = "epoch";
    /// <summary>Completed epochs (1-based number of the last complete epoch).</summary>
    public int Epoch { get; init; }
    /// <summary>Set when the run stopped inside epoch <see cref="Epoch"/> + 1.</summary>
    public PartialEpoch? Partial { get; init; }
    public long GlobalStep { get; init; }
    /// <summary>Processes that trained together (mpirun -np); a mid-epoch position only holds for the same number.</summary>
    public int WorldSize { get; init; } = 1;
    public string Backbone { get; init; } = "";
    public BlockKind Block { get; init; }
    public int[] Layers { get; init; } = [];
    public int NumClasses { get; init; }
    public string Optimizer { get; init; } = "";
    public double BestValAccuracy { get; init; }
    public int BestEpoch { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    public ScheduleState Scheduler { get; init; } = new();
    /// <summary>The resolved config (YAML) the run was started with.</summary>
    public string ConfigYaml { get; init; } = "";
    public string[] ClassNames { get; init; } = [];
    public Preprocessing? Preprocessing { get; init; }
    /// <summary>How to evaluate the model (format 2 on); read through <see cref="EvaluationSettings.Of"/>, which also reads format 1.</summary>
    public EvaluationSettings? Evaluation { get; init; }
    /// <summary>Where training started, in words, for exported files' provenance (format 2 on).</summary>
    public string? StartingWeights { get; init; }
    public string SplitManifestHash { get; init; } = "";
    public List<EpochRecord> History { get; init; } = [];
    public DateTimeOffset SavedAt { get; init; }

    public ResNetArchitecture Architecture => new(Block, Layers);
}
