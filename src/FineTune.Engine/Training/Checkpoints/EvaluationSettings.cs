using FineTune.Config;
using FineTune.Data;
using FineTune.Models;
using FineTune.Weights;

namespace FineTune.Training.Checkpoints;

/// <summary>
/// How a checkpoint's model must see an image outside training: the evaluation size, resize and crop, and the precision
/// that `predict`, `export` and the library use. A checkpoint carries these as typed fields (format 2 on) beside its
/// preprocessing, so using it needs no config parser: a config this version cannot read no longer changes how it classifies.
/// </summary>
public sealed record EvaluationSettings(int ImageSize, ResizeMode Resize, double CropFraction, PrecisionSetting Precision, bool Flip = false)
{
    public EvalTransform ToTransform() => new(ImageSize, Resize, CropFraction);

    /// <summary>What a run of <paramref name="config"/> from weights with <paramref name="preprocessing"/> validates with.</summary>
    public static EvaluationSettings For(FineTuneConfig config, Preprocessing preprocessing)
    {
        var eval = FolderTrainingData.EvalTransformFor(config, config.Data.EvalSizeFor(preprocessing.InputSize));
        return new(eval.Size, eval.Mode, eval.CropFraction, config.Training.Precision, config.Data.Augmentation.EvalFlip);
    }

    /// <summary>
    /// The preprocessing and evaluation settings of <paramref name="info"/> (the checkpoint <paramref name="checkpoint"/>):
    /// its typed fields, or for a format-1 checkpoint, which has none, its config parsed again. One that has neither fails
    /// with a message: a guessed size or resize would classify every image differently from validation, without a word.
    /// </summary>
    public static (Preprocessing Preprocessing, EvaluationSettings Settings) Of(CheckpointInfo info, string checkpoint)
    {
        var preprocessing = info.Preprocessing ?? throw Damaged(checkpoint, info, "preprocessing");
        var settings = info.Evaluation
                       ?? (info.Format < 2 ? For(WrittenConfig(info, checkpoint), preprocessing) : throw Damaged(checkpoint, info, "evaluation"));
        try { settings.ToTransform().Validate(); }
        catch (DatasetException e) { throw new CheckpointException($"Checkpoint '{checkpoint}' has unusable evaluation settings ({e.Message}): it is damaged; use another checkpoint of the run."); }
        return (preprocessing, settings);
    }

    /// <summary>
    /// The config <paramref name="info"/> was trained with. For a format-1 checkpoint the only record of its evaluation
    /// settings and starting weights, so one this version cannot read is an error, never a default.
    /// </summary>
    public static FineTuneConfig WrittenConfig(CheckpointInfo info, string checkpoint)
    {
        var why = "it holds no config.";
        if (!string.IsNullOrWhiteSpace(info.ConfigYaml))
        {
            try { return ConfigLoader.Parse(info.ConfigYaml, $"{checkpoint} (its config)"); }
            catch (ConfigException e) { why = $"this version cannot read that config ({e.Message.TrimEnd('.')})."; }
        }
        throw new CheckpointException(
            $"Checkpoint '{checkpoint}' (format {info.Format}) keeps its evaluation size, resize and precision only in the config it was trained with, " +
            $"and {why} Use it with the finetune version that trained it, or train it again with this one.");
    }

    static CheckpointException Damaged(string checkpoint, CheckpointInfo info, string field) =>
        new($"Checkpoint '{checkpoint}' (format {info.Format}) has no '{field}' in its checkpoint.json: it is damaged; use another checkpoint of the run.");
}
