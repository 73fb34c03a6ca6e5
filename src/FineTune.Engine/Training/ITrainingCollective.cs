using TorchSharp.Modules;

namespace FineTune.Training;

/// <summary>
/// Distributed training (FineTune.Distributed.DistributedContext implements it): averages gradients after backward and sums
/// epoch statistics across processes. Only rank 0 writes checkpoints and logs. Null means one process.
/// </summary>
public interface ITrainingCollective
{
    int Rank { get; }
    int WorldSize { get; }
    void AverageGradients(IEnumerable<Parameter> parameters);
    /// <summary>Element-wise sum over all processes.</summary>
    double[] Sum(double[] values);
    /// <summary>True on every process when any of them passes true (a stop request on one rank stops all); call in lockstep.</summary>
    bool AnyRank(bool flag);
    /// <summary>Copies rank 0's buffers (BatchNorm running statistics) to every rank, as DDP's broadcast_buffers does.</summary>
    void SyncBuffers(TorchSharp.torch.nn.Module model);
}
