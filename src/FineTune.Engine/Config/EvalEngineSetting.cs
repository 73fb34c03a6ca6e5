namespace FineTune.Config;

/// <summary>
/// What runs the evaluation forward (training.eval_engine): validation, the linear probe's feature pass, `test` and
/// `predict`. <see cref="Auto"/> and <see cref="OnnxRuntime"/> run fp32 CPU evaluation on ONNX Runtime over the
/// model's exported graph, checked against libtorch on each pass's first batch, and libtorch everywhere else (bf16,
/// fp64, a GPU); <see cref="Torch"/> always runs libtorch.
/// </summary>
public enum EvalEngineSetting { Auto, Torch, OnnxRuntime }

/// <summary>The words for an <see cref="EvalEngineSetting"/>, as configs write it.</summary>
public static class EvalEngineSettings
{
    public static string ToName(this EvalEngineSetting e) => e switch
    {
        EvalEngineSetting.Torch => "torch",
        EvalEngineSetting.OnnxRuntime => "onnxruntime",
        _ => "auto",
    };

    /// <summary>"auto", "torch" or "onnxruntime", any case; null for anything else.</summary>
    public static EvalEngineSetting? TryParse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" => EvalEngineSetting.Auto,
        "torch" => EvalEngineSetting.Torch,
        "onnxruntime" => EvalEngineSetting.OnnxRuntime,
        _ => null,
    };
}
