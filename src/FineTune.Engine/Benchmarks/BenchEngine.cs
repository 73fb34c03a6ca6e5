using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Export;
using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Benchmarks;

/// <summary>
/// Our evaluation rows on FineTune's evaluation engine (<see cref="OnnxRuntimeEngine"/>, as training.eval_engine picks
/// it): opened on the model as <see cref="EvalPass"/> opens it, and checked against libtorch on one batch first, as
/// EvalPass checks a pass's first batch. A disagreement ends the bench (a wrong engine's speed means nothing) and says
/// how to measure libtorch instead.
/// </summary>
sealed class BenchEngine : IDisposable
{
    readonly IEvalSession _session;

    public string Name { get; }

    BenchEngine(IEvalSession session, string name) => (_session, Name) = (session, name);

    /// <summary>The engine for <paramref name="model"/>, checked on <paramref name="sample"/> (NCHW); null: the row runs in libtorch (bf16, or --eval-engine torch).</summary>
    public static BenchEngine? Open(ResNet model, Tensor sample, BenchmarkSettings s)
    {
        var engine = OnnxRuntimeEngine.For(s.EvalEngine);
        if (engine is null || engine.CannotRun(model, CPU) is not null) return null;
        model.eval();
        var session = engine.Open(model, EvalOutput.Logits);
        using (NewDisposeScope())
        {
            var reference = ModelThroughput.EvalPassFor(model, s).Forward(s.ChannelsLast ? ChannelsLast.Of(sample) : sample);
            if (EngineCheck.Compare(session, sample, reference).Problem is { } problem)
            {
                session.Dispose();
                throw new InvalidOperationException($"{engine.Name} disagreed with libtorch on this model: {problem}. Measure libtorch alone with --eval-engine torch.");
            }
        }
        return new BenchEngine(session, engine.Name);
    }

    /// <summary>The timed forwards of one batch made once (the model alone).</summary>
    public StepTimes Time(Tensor images, BenchmarkSettings s) => StepTimes.Measure(s.Warmup, s.Steps, () =>
    {
        using var scope = NewDisposeScope();
        _session.Forward(images);
    });

    /// <summary>The timed forwards, each first waiting for the loader's next batch (end to end), as EvalPass hands batches to the engine.</summary>
    public StepTimes Time(Func<Batch> next, BenchmarkSettings s) => StepTimes.Measure(s.Warmup, s.Steps, () =>
    {
        using var batch = next();
        using var scope = NewDisposeScope();
        _session.Forward(batch.Images);
    });

    public void Dispose() => _session.Dispose();
}
