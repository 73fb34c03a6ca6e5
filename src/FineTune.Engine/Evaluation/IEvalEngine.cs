using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Evaluation;

/// <summary>
/// A second engine for the evaluation forward: ONNX Runtime over the model's exported graph (Export/OnnxRuntimeEngine),
/// which evaluates ResNets faster than libtorch on the CPUs measured (docs/throughput.md). Handed in by the layer that
/// builds it (the API), so Training and Evaluation need not know it. <see cref="EvalPass"/> opens one session per pass,
/// on the weights of that moment, and checks its first batch against libtorch before trusting it.
/// </summary>
public interface IEvalEngine
{
    /// <summary>In words, with its version: "ONNX Runtime 1.31.1".</summary>
    string Name { get; }

    /// <summary>Why this engine cannot run <paramref name="model"/> on <paramref name="device"/> (bf16, a GPU, an earlier disagreement); null: it can.</summary>
    string? CannotRun(ResNet model, Device device);

    /// <summary>A session on the model's current weights, computing <paramref name="output"/>.</summary>
    IEvalSession Open(ResNet model, EvalOutput output);

    /// <summary>The engine failed or disagreed with libtorch (<paramref name="detail"/> says how): it is not used again.</summary>
    void Disagreed(string detail);

    /// <summary>It agreed with libtorch on a pass's first batch, with the largest difference relative to the largest output.</summary>
    void Agreed(double relativeDifference);

    /// <summary>What evaluated, in words, once a pass has decided (the engine, or libtorch and why); null before.</summary>
    string? Outcome { get; }
}

/// <summary>One engine session: fixed weights, one kind of output.</summary>
public interface IEvalSession : IDisposable
{
    /// <summary>Its outputs agreed with libtorch's on a batch already (set by <see cref="EvalPass"/>): later passes need not check again.</summary>
    bool Agreed { get; set; }

    /// <summary>
    /// The outputs ([N, classes] logits or [N, features], fp32, on the CPU) of normalised NCHW fp32 images on the CPU,
    /// as a new tensor the caller's dispose scope owns.
    /// </summary>
    Tensor Forward(Tensor images);
}

/// <summary>
/// An engine for a model whose weights never change (a loaded <c>Classifier</c>): one session, opened on first use and
/// shared by every pass until disposed, so a call that classifies one image does not export the network again, and,
/// once it agreed with libtorch, is not checked again either.
/// </summary>
public sealed class KeptSessionEngine(IEvalEngine inner) : IEvalEngine, IDisposable
{
    readonly Lock _lock = new();
    IEvalSession? _session;
    EvalOutput _output;

    public string Name => inner.Name;

    public string? CannotRun(ResNet model, Device device) => inner.CannotRun(model, device);

    public IEvalSession Open(ResNet model, EvalOutput output)
    {
        lock (_lock)
        {
            if (_session is null || _output != output)
            {
                _session?.Dispose();
                _session = inner.Open(model, output);
                _output = output;
            }
            return new Borrowed(_session);
        }
    }

    public void Disagreed(string detail)
    {
        inner.Disagreed(detail);
        lock (_lock)
        {
            _session?.Dispose();
            _session = null;
        }
    }

    public void Agreed(double relativeDifference) => inner.Agreed(relativeDifference);

    public string? Outcome => inner.Outcome;

    public void Dispose()
    {
        lock (_lock)
        {
            _session?.Dispose();
            _session = null;
        }
    }

    /// <summary>The kept session, lent to one pass: disposing it leaves the session open.</summary>
    sealed class Borrowed(IEvalSession session) : IEvalSession
    {
        public bool Agreed { get => session.Agreed; set => session.Agreed = value; }
        public Tensor Forward(Tensor images) => session.Forward(images);
        public void Dispose() { }
    }
}

/// <summary>How an engine's outputs are checked against libtorch's on the same batch.</summary>
public static class EngineCheck
{
    /// <summary>
    /// The tolerance, relative to the largest absolute output: fp32 convolutions summed in another order differ by about
    /// 1e-6 of it (measured: docs/throughput.md), a wrong kernel by whole units; 1e-4 tells the two apart with room.
    /// </summary>
    public const double Tolerance = 1e-4;

    /// <summary>The largest difference relative to the largest absolute reference output; NaN or infinity when either side has one.</summary>
    public static double RelativeDifference(Tensor reference, Tensor engine)
    {
        using var scope = NewDisposeScope();
        var r = reference.to(ScalarType.Float64, CPU);
        var e = engine.to(ScalarType.Float64, CPU);
        if (!r.shape.SequenceEqual(e.shape)) return double.PositiveInfinity;
        if (!r.isfinite().all().item<bool>() || !e.isfinite().all().item<bool>()) return double.NaN;
        double scale = Math.Max(r.abs().max().item<double>(), 1e-12);
        return (r - e).abs().max().item<double>() / scale;
    }

    /// <summary>
    /// Runs <paramref name="images"/> through <paramref name="session"/> and compares its outputs with libtorch's
    /// <paramref name="reference"/> of the same images: the relative difference, and null or the problem in words (a
    /// failure of the engine is one).
    /// </summary>
    public static (double Difference, string? Problem) Compare(IEvalSession session, Tensor images, Tensor reference)
    {
        try
        {
            using var outputs = session.Forward(images);
            double difference = RelativeDifference(reference, outputs);
            return (difference, Problem(difference));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (double.NaN, $"it failed on the first batch ({e.Message})");
        }
    }

    /// <summary>Null when <paramref name="relativeDifference"/> is within <see cref="Tolerance"/>; else what went wrong, in words.</summary>
    public static string? Problem(double relativeDifference) =>
        relativeDifference <= Tolerance ? null // false for NaN, so a NaN never passes
        : double.IsNaN(relativeDifference) ? "its outputs (or libtorch's) hold NaN or infinity"
        : double.IsPositiveInfinity(relativeDifference) ? "its outputs have another shape than libtorch's"
        : $"its outputs differ from libtorch's by {relativeDifference:G3} of the largest (tolerance {Tolerance:G1})";
}
