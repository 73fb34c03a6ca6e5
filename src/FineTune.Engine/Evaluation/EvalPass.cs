using FineTune.Native;
using FineTune.Data;
using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Evaluation;

/// <summary>What an evaluation pass hands back for each batch: the classifier's logits, or the pooled features before it.</summary>
public enum EvalOutput { Logits, Features }

/// <summary>
/// The one evaluation loop: validation, the linear probe's feature pass, `finetune test`, `finetune predict` and the
/// bench's eval rows all run the model through it, so "evaluate" means the same everywhere: BatchNorm on its running
/// statistics (eval mode), autograd off, each batch on the device in the layout the convolutions want, and everything
/// a batch makes freed before the next one. Precision needs nothing here: bf16 autocast lives inside the model's
/// forward (<see cref="ResNet.Precision"/>, <see cref="Autocast"/>) and the logits and features come back in fp32.
/// </summary>
/// <param name="channelsLast">
/// Hand the convolutions channels-last input (oneDNN's preferred layout on the CPU; the same numbers), unless the
/// kernel check turned it off for this CPU (<see cref="ChannelsLast.Input"/>).
/// </param>
/// <param name="inferenceMode">torch.inference_mode instead of no_grad (the bench can compare the two).</param>
public sealed class EvalPass(ResNet model, Device device, bool channelsLast, EvalOutput output = EvalOutput.Logits, bool inferenceMode = false)
{
    /// <summary>
    /// Runs every batch of <paramref name="batches"/> through the model and calls <paramref name="perBatch"/> with the
    /// batch and its outputs ([N, classes] logits or [N, features], fp32, on the device). Both live until the call
    /// returns: the outputs in the batch's dispose scope, the batch until it is disposed after the call. What the call
    /// keeps must be copied out or moved with MoveToOuterDisposeScope.
    /// </summary>
    public void Run(IEnumerable<Batch> batches, Action<Batch, Tensor> perBatch)
    {
        model.eval();
        using var guard = AutogradOff();
        var session = OpenSession();
        bool checkedFirst = session?.Agreed ?? false;
        try
        {
            foreach (var batch in batches)
            {
                using var _ = batch;
                using var scope = NewDisposeScope();
                var images = WithMirrors(batch.Images);
                Tensor outputs;
                if (session is null) outputs = Forward(Input(images));
                else if (checkedFirst) outputs = session.Forward(images);
                else
                {
                    outputs = CheckFirstBatch(ref session, images);
                    checkedFirst = true;
                }
                perBatch(batch, MirrorMean(outputs, batch.Count));
            }
        }
        finally
        {
            session?.Dispose();
        }
    }

    /// <summary>
    /// Horizontal-flip test-time augmentation (data.augmentation.eval_flip): each image's outputs (logits, or pooled
    /// features) are the mean of its own and its mirror image's. Twice the compute; an object seen both ways is
    /// recognised more reliably than one seen only as photographed (docs/results.md has what it gained on Caltech-101).
    /// </summary>
    public bool FlipAverage { get; init; }

    /// <summary>
    /// Another engine for this pass's forwards (<see cref="IEvalEngine"/>: ONNX Runtime over the exported graph), used
    /// where it can run the model; null: libtorch. Either way the first batch also runs in libtorch, and the engine is
    /// trusted for the rest of the pass only if it agreed (<see cref="EngineCheck"/>).
    /// </summary>
    public IEvalEngine? Engine { get; init; }

    IEvalSession? OpenSession()
    {
        if (Engine is null || Engine.CannotRun(model, device) is not null) return null;
        try
        {
            return Engine.Open(model, output);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Engine.Disagreed($"it could not load the model ({e.Message})");
            return null;
        }
    }

    /// <summary>
    /// libtorch's outputs of the pass's first batch, which are the ones handed on; the engine's are compared with them.
    /// On a disagreement the session is closed (the pass goes on in libtorch) and the engine is told, so it is not used
    /// again. A model whose own outputs are not finite (a diverged run) decides nothing: this pass uses libtorch.
    /// </summary>
    Tensor CheckFirstBatch(ref IEvalSession? session, Tensor images)
    {
        var reference = Forward(Input(images));
        bool decidable = reference.isfinite().all().item<bool>();
        var (difference, problem) = decidable ? EngineCheck.Compare(session!, images, reference) : (double.NaN, null);
        if (decidable && problem is null)
        {
            session!.Agreed = true;
            Engine!.Agreed(difference);
            return reference;
        }
        if (problem is not null) Engine!.Disagreed(problem);
        session!.Dispose();
        session = null;
        return reference;
    }

    /// <summary>A batch of normalised NCHW images on the device, channels-last when asked and allowed.</summary>
    public Tensor Input(Tensor images) => ChannelsLast.Input(images, device, channelsLast, model.Routing);

    /// <summary>
    /// One forward of an input already on the device in its layout (see <see cref="Input"/>), with autograd off; the
    /// caller's dispose scope owns the result. The model must be in eval mode (<see cref="Run"/> and
    /// <see cref="EvalMode"/> put it there). The bench times exactly this.
    /// </summary>
    public Tensor Forward(Tensor input)
    {
        using var guard = AutogradOff();
        return output == EvalOutput.Features ? model.Features(input) : model.call(input);
    }

    /// <summary>
    /// Softmax probabilities of one batch of normalised images (one float[] per image), everything else freed before it
    /// returns: for a caller holding images rather than a stream of batches (one image to classify).
    /// </summary>
    public float[][] ClassProbabilities(Tensor images)
    {
        model.eval();
        using var scope = NewDisposeScope();
        return Probabilities(MirrorMean(Forward(Input(WithMirrors(images))), images.shape[0]));
    }

    /// <summary>With <see cref="FlipAverage"/>: the images followed by their mirror images, for one forward of twice the batch (larger batches run no slower per image).</summary>
    Tensor WithMirrors(Tensor images) => FlipAverage ? cat([images, images.flip(3)], 0) : images;

    /// <summary>With <see cref="FlipAverage"/>: each image's outputs averaged with its mirror image's (the second half of <paramref name="outputs"/>).</summary>
    Tensor MirrorMean(Tensor outputs, long count) =>
        FlipAverage ? outputs.narrow(0, 0, count).add(outputs.narrow(0, count, count), Scalars.One).div_(Scalars.Two) : outputs;

    /// <summary>Puts the model in eval mode, for callers that drive <see cref="Forward"/> themselves.</summary>
    public EvalPass EvalMode()
    {
        model.eval();
        return this;
    }

    /// <summary>
    /// The pass of `test` and `predict`, which have no training.channels_last of their own: channels-last on the CPU,
    /// where oneDNN's convolutions run faster on it (measured: finetune bench) with the same numbers; logits out.
    /// </summary>
    public static EvalPass ForInference(ResNet model, Device device, IEvalEngine? engine = null, bool flipAverage = false) =>
        new(model, device, channelsLast: device.type == TorchSharp.DeviceType.CPU) { Engine = engine, FlipAverage = flipAverage };

    /// <summary>Softmax probabilities of a batch's logits, one float[] per image (on the CPU), as test and predict report them.</summary>
    public static float[][] Probabilities(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var probabilities = nn.functional.softmax(logits, 1).to(ScalarType.Float32, CPU).contiguous(); // float64 logits of an fp64 run too
        int n = (int)probabilities.shape[0], classes = (int)probabilities.shape[1];
        var flat = probabilities.data<float>().ToArray();
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
    }

    IDisposable AutogradOff() => inferenceMode ? inference_mode() : no_grad();
}
