using FineTune.Config;
using FineTune.Models;
using FineTune.Weights;
using static TorchSharp.torch;

namespace FineTune.Training.Checkpoints;

/// <summary>
/// model.weights naming a FineTune checkpoint (a path ending in .ckpt): a new run that starts from a model made earlier,
/// as ML.NET users ask (dotnet/machinelearning#4778). Not a resume: optimizer, schedule, epochs and history start afresh;
/// the weights and the preprocessing they were trained with carry over. The head is kept when the new data has the
/// checkpoint's classes in its order, has its rows put in the new order when the same classes come in another, and is
/// replaced by a new seeded one when the classes differ (a head for other classes would only mislead the first steps).
/// </summary>
public sealed class StartingCheckpoint
{
    /// <summary>The checkpoint, read whole (a run may write over the file later; the bytes are what it started from).</summary>
    public CheckpointFile Checkpoint { get; }

    /// <summary>Where training starts, in words, for the checkpoints' <see cref="CheckpointInfo.StartingWeights"/>: path, content hash, epoch.</summary>
    public string Provenance { get; }

    /// <summary>The checkpoint's own preprocessing: the backbone's features mean what they mean only for pixels prepared this way.</summary>
    public Preprocessing Preprocessing => Checkpoint.Info.Preprocessing!;

    StartingCheckpoint(CheckpointFile checkpoint, string hash)
    {
        Checkpoint = checkpoint;
        var info = checkpoint.Info;
        Provenance = $"checkpoint {checkpoint.Path} (sha256 {hash}), epoch {info.Epoch}; before that: {info.StartingWeights ?? "not recorded"}";
    }

    /// <summary>Whether a model.weights value names a checkpoint rather than pretrained weights.</summary>
    public static bool Names(string weights) => weights.Trim().EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The checkpoint <paramref name="config"/>'s model.weights names, read and checked; null when it names pretrained
    /// weights. Called before train writes anything, so a bad checkpoint leaves no half-made run behind.
    /// </summary>
    /// <exception cref="CheckpointException">Missing or unreadable, another backbone, or inside the run's own folder.</exception>
    /// <exception cref="ConfigException">model.pretrained is false.</exception>
    public static StartingCheckpoint? For(FineTuneConfig config)
    {
        if (!Names(config.Model.Weights)) return null;
        var path = config.Model.Weights.Trim();
        var where = $"model.weights in {config.Source}";
        // Starting from trained weights is the opposite of `pretrained: false`; guessing which one was meant would be wrong half the time.
        if (!config.Model.Pretrained)
            throw new ConfigException($"{where} names checkpoint '{path}', but model.pretrained is false: set pretrained: true to start from the checkpoint, or remove model.weights to train from scratch.");
        CheckpointFile checkpoint;
        try { checkpoint = CheckpointFile.Load(path); }
        catch (CheckpointException e) { throw new CheckpointException($"{where}: {e.Message}"); }
        var info = checkpoint.Info;
        if (!string.Equals(info.Backbone, config.Model.Backbone, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException($"{where}: checkpoint '{path}' holds a {info.Backbone}, but model.backbone is {config.Model.Backbone}: set model.backbone: {info.Backbone}, or start from a checkpoint of a {config.Model.Backbone} run.");
        if (info.Preprocessing is null)
            throw new CheckpointException($"{where}: checkpoint '{path}' records no preprocessing, so its features cannot be fed alike: it is damaged; use another checkpoint of that run.");
        // The new run writes checkpoint_best.ckpt and split.json into its folder: starting from that folder's checkpoint
        // would overwrite the model it came from, and mix two runs' results.json.
        var folder = Path.GetFullPath(config.Experiment.RunCheckpointDir).TrimEnd(Path.DirectorySeparatorChar);
        if (string.Equals(Path.GetDirectoryName(Path.GetFullPath(path)), folder, StringComparison.Ordinal))
            throw new CheckpointException($"{where}: checkpoint '{path}' lies in this run's own folder {folder}, which the new run writes over: give the new run its own experiment.name (or copy the checkpoint elsewhere first).");
        return new StartingCheckpoint(checkpoint, ContentHash.Sha256Prefix(path, 12));
    }

    /// <summary>A model with the checkpoint's architecture, weights and head (fitted to the new classes by <see cref="FitHead"/>).</summary>
    public ResNet CreateModel(KernelRouting routing)
    {
        try { return Checkpoint.CreateModel(routing); }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException)
        {
            throw new CheckpointException($"Checkpoint '{Checkpoint.Path}' (model.weights): its model.bin cannot be read ({e.Message}): it is damaged; use another checkpoint of that run.");
        }
    }

    /// <summary>
    /// Refuses a probe-only run (training.num_epochs 0) from a checkpoint whose head already fits <paramref name="classNames"/>:
    /// the trained head skips the probe (<see cref="ModelToTrain.HeadTrained"/>), so nothing would train and nothing be saved.
    /// </summary>
    public void EnsureSomethingTrains(FineTuneConfig config, IReadOnlyList<string> classNames)
    {
        if (config.Training.NumEpochs != 0 || !Checkpoint.Info.ClassNames.Order(StringComparer.Ordinal).SequenceEqual(classNames.Order(StringComparer.Ordinal), StringComparer.Ordinal))
            return;
        throw new ConfigException($"training.num_epochs is 0 in {config.Source} (a run of the linear probe alone), but model.weights' checkpoint {Checkpoint.Path} already has a head trained for these classes, so the probe is skipped and nothing would be trained: set num_epochs to 1 or more to keep training it, or evaluate it as it is with `finetune test --model_path {Checkpoint.Path}`.");
    }

    /// <summary>
    /// Fits <paramref name="model"/>'s head (made by <see cref="CreateModel"/>) to <paramref name="classNames"/>, the new
    /// data's classes, and returns the run's one "Model:" line saying what happened and whether the head came trained.
    /// A new head is Xavier-initialised from <paramref name="seed"/> (data.seed), so two runs of one config start alike.
    /// </summary>
    public (string Line, bool HeadTrained) FitHead(ResNet model, IReadOnlyList<string> classNames, int seed)
    {
        var old = Checkpoint.Info.ClassNames;
        var start = $"Model: {Checkpoint.Info.Backbone} from checkpoint {Checkpoint.Path} (epoch {Checkpoint.Info.Epoch}, {old.Length} classes)";
        if (old.SequenceEqual(classNames, StringComparer.Ordinal))
            return ($"{start}; the same classes: its head is kept.", true);
        if (old.Length == classNames.Count && old.Order(StringComparer.Ordinal).SequenceEqual(classNames.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            // The same classes, listed in another order (say, a folder renamed and back): the trained rows still hold, by name.
            var rows = classNames.Select(name => (long)Array.IndexOf(old, name)).ToArray();
            using (no_grad())
            using (var index = tensor(rows, device: model.Head.weight!.device))
            {
                model.Head.weight!.copy_(model.Head.weight.index_select(0, index));
                model.Head.bias!.copy_(model.Head.bias.index_select(0, index));
            }
            return ($"{start}; the same classes in another order: its head's rows are reordered by class name.", true);
        }
        int added = classNames.Except(old, StringComparer.Ordinal).Count(), gone = old.Except(classNames, StringComparer.Ordinal).Count();
        random.manual_seed(seed);
        model.ResetClassifier(classNames.Count);
        return ($"{start}; classes differ ({added} new, {gone} gone): new head for {classNames.Count} classes.", false);
    }
}
