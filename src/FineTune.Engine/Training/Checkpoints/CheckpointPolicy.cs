namespace FineTune.Training.Checkpoints;

/// <summary>
/// Which checkpoints an epoch leaves behind, as in the seed's train.py: checkpoint_best whenever validation
/// improves; with save_best_only also the last epoch's, otherwise every save_every epochs and the last;
/// an early stop saves the epoch it stopped at.
/// </summary>
public sealed record CheckpointPolicy(string Folder, bool SaveBestOnly, int SaveEvery, int NumEpochs)
{
    public string BestPath => Path.Combine(Folder, "checkpoint_best.ckpt");
    public string BestPthPath => Path.Combine(Folder, "checkpoint_best.pth");
    public string InterruptedPath => Path.Combine(Folder, "checkpoint_interrupted.ckpt");
    public string EpochPath(int epoch) => Path.Combine(Folder, $"checkpoint_epoch_{epoch}.ckpt");

    /// <summary>Whether epoch <paramref name="epoch"/> (1-based) gets its own checkpoint_epoch_N file.</summary>
    public bool SavesEpoch(int epoch, bool earlyStop) =>
        earlyStop || epoch == NumEpochs || (!SaveBestOnly && epoch % SaveEvery == 0);
}
