using TorchSharp.Modules;

namespace FineTune.Training;

/// <summary>
/// SEAM for distributed training (the MPI helper implements it): averages gradients after backward and sums
/// epoch statistics across processes. Only rank 0 writes checkpoints and logs. Null means one process.
/// </summary>
public interface ITrainingCollective
{
    int Rank { get; }
    int WorldSize { get; }
    void AverageGradients(IEnumerable<Parameter> parameters);
    /// <summary>Element-wise sum over all processes.</summary>
    double[] Sum(double[] values);
}
