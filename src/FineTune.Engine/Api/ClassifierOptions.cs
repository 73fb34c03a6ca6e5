using FineTune.Config;
using FineTune.Models;
using FineTune.Logging;
using Microsoft.Extensions.Logging;

namespace FineTune;

/// <summary>How <see cref="Classifier.Load"/> runs a model: the flags of `finetune predict`.</summary>
public sealed record ClassifierOptions
{
    /// <summary>The seed's `--gpu 0` for a checkpoint; null runs on the CPU (an .onnx file always runs on ONNX Runtime's CPU provider).</summary>
    public string? Gpu { get; init; }

    /// <summary>Overrides the checkpoint's own training.precision (fp32, bf16, auto).</summary>
    public PrecisionSetting? Precision { get; init; }

    /// <summary>
    /// What runs a checkpoint's forward passes on lists of files: ONNX Runtime over its exported graph where it can (auto,
    /// checked against libtorch on each list's first batch), or libtorch (torch). See training.eval_engine in docs/config.md.
    /// </summary>
    public EvalEngineSetting EvalEngine { get; init; } = EvalEngineSetting.Auto;

    /// <summary>Images per forward pass when classifying a list of files.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Where the kernel check and precision lines go; null: nowhere (the library is quiet unless given a logger).</summary>
    public ILogger? Logger { get; init; }
}
