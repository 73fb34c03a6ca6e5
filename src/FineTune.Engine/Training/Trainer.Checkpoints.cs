using System.Globalization;
using System.Text.Json;
using FineTune.IO;
using FineTune.Config;
using FineTune.Training.Checkpoints;
using TorchSharp.Modules;

namespace FineTune.Training;

// What goes into a checkpoint and back out of one; which checkpoints an epoch leaves is CheckpointPolicy's.
public sealed partial class Trainer
{
    /// <summary>
    /// Continues from <paramref name="checkpoint"/>: its weights, optimizer moments, schedule and <see cref="TrainingState"/>,
    /// after checking that it was trained on this data with this optimizer (a resume must end where an unbroken run would).
    /// </summary>
    void Restore(CheckpointFile checkpoint, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        var info = checkpoint.Info;
        if (!info.ClassNames.SequenceEqual(data.ClassNames))
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was trained on other classes than the dataset at {config.Data.DataDir}: resume with the same data.");
        if (info.SplitManifestHash != data.SplitManifestHash)
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was trained on another train/val split (data.seed or sizes changed): resume with the same data settings.");
        if (!string.Equals(info.Optimizer, _t.Optimizer.ToString(), StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException($"Checkpoint '{checkpoint.Path}' was trained with optimizer {info.Optimizer}: set training.optimizer: {info.Optimizer.ToLowerInvariant()} to resume it.");
        checkpoint.LoadModelInto(model);
        checkpoint.LoadOptimizerInto(optimizer);
        schedule.State = info.Scheduler;
        _state = TrainingState.From(info);
        _startingWeights = info.StartingWeights ?? _startingWeights;
        int world = collective?.WorldSize ?? 1;
        if (_state.Partial is not null && info.WorldSize != world)
        {
            // Each rank's step count within the epoch depends on the number of ranks: restart that epoch whole.
            progress.Line($"The checkpoint stopped inside epoch {info.Epoch + 1} with {info.WorldSize} process(es); this run has {world}, so that epoch starts again from its first step.");
            _state.Partial = null;
        }
        progress.Line(_state.Partial is null
            ? string.Create(CultureInfo.InvariantCulture, $"Resuming from {checkpoint.Path}: {info.Epoch} epoch(s) done, best validation accuracy {Math.Max(0, info.BestValAccuracy) * 100:0.00}% at epoch {info.BestEpoch}.")
            : $"Resuming from {checkpoint.Path}: epoch {info.Epoch + 1} at step {_state.Partial.BatchesDone + 1}.");
        if (info.Epoch >= _t.NumEpochs && info.Partial is null)
            progress.Line($"Nothing to do: the checkpoint has all {_t.NumEpochs} epochs of training.num_epochs; raise it to train longer.");
    }

    /// <summary>What a checkpoint written now says besides its tensors: why it was written, where training stands, what was trained on what.</summary>
    CheckpointInfo Snapshot(string reason, LearningRateSchedule schedule) => _state.WriteInto(new()
    {
        Reason = reason,
        WorldSize = collective?.WorldSize ?? 1,
        Backbone = config.Model.Backbone,
        Block = model.Architecture.Block,
        Layers = model.Architecture.Layers,
        NumClasses = model.NumClasses,
        Optimizer = _t.Optimizer.ToString(),
        Scheduler = schedule.State,
        ConfigYaml = ConfigPrinter.ToYaml(config),
        ClassNames = [.. data.ClassNames],
        Preprocessing = preprocessing,
        Evaluation = EvaluationSettings.For(config, preprocessing),
        StartingWeights = _startingWeights ?? ExportSource.StartingWeights(config),
        SplitManifestHash = data.SplitManifestHash,
    });

    /// <summary>A checkpoint at <paramref name="path"/>: the model, the optimizer and <see cref="Snapshot"/>, written atomically.</summary>
    string Save(string path, string reason, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        CheckpointFile.Save(path, Snapshot(reason, schedule), model, optimizer);
        return path;
    }

    /// <summary>
    /// What an epoch leaves on disk (on rank 0): checkpoint_best when validation improved, the epoch's own checkpoint
    /// when the policy asks for it, and history.json with every epoch so far.
    /// </summary>
    void SaveCheckpoints(int epoch, bool improved, bool earlyStop, OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        if (improved) SaveBest(optimizer, schedule);
        if (Policy.SavesEpoch(epoch, earlyStop)) _lastPath = Save(Policy.EpochPath(epoch), earlyStop ? "early_stop" : "epoch", optimizer, schedule);
        AtomicWrite.Text(Path.Combine(Policy.Folder, "history.json"), JsonSerializer.Serialize(_state.History, CheckpointFile.Json));
    }

    /// <summary>checkpoint_best, and its PyTorch export when experiment.export_pytorch asks for one.</summary>
    void SaveBest(OptimizerHelper optimizer, LearningRateSchedule schedule)
    {
        _bestPath = Save(Policy.BestPath, "best", optimizer, schedule);
        if (!config.Experiment.ExportPytorch) return;
        PyTorchExport.Save(model, Policy.BestPthPath);
        // Its JSON beside it: the .pth alone does not say the architecture, the preprocessing or the classes.
        PyTorchManifest.Save(ExportSource.FromInfo(Snapshot("best", schedule), Path.GetFileName(Policy.BestPath)), Policy.BestPthPath, PyTorchManifest.PathFor(Policy.BestPthPath));
    }
}
