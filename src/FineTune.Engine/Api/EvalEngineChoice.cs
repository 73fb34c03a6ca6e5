using FineTune.Config;
using FineTune.Evaluation;
using FineTune.Export;

namespace FineTune;

/// <summary>The engine training.eval_engine asks for (<see cref="EvalEngineSetting"/>), made here, where Export is in reach.</summary>
static class EvalEngineChoice
{
    /// <param name="say">Where the engine's one line goes (used, or set aside and why).</param>
    internal static IEvalEngine? For(EvalEngineSetting setting, Action<string>? say) =>
        setting == EvalEngineSetting.Torch ? null : new OnnxRuntimeEngine(say);
}
