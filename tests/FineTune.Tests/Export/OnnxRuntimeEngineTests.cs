using FineTune.Evaluation;
using FineTune.Export;
using FineTune.Models;
using FineTune.Tests.Models;
using FineTune.Tests.Weights;
using FineTune.Weights;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Export;

/// <summary>
/// Issue 21, item 1: evaluation on ONNX Runtime over the exported graph (<see cref="OnnxRuntimeEngine"/>) must give the
/// unfolded libtorch model's outputs within <see cref="Bar"/> of the largest, and <see cref="EvalPass"/> must trust it
/// only after its first batch agreed with libtorch, falling back to libtorch (for good) when it did not.
/// </summary>
public sealed class OnnxRuntimeEngineTests(BundledWeightsFixture bundled, ITestOutputHelper output) : IClassFixture<BundledWeightsFixture>
{
    /// <summary>The bar. Both sides are fp32 with different summation orders (ORT folds BatchNorm and blocks its layouts): rounding only, measured about 1e-6 (printed).</summary>
    const double Bar = 1e-5;

    [Fact]
    public void The_pretrained_resnet18_gives_the_unfolded_logits_on_drawn_scenes() =>
        AssertParity(bundled.Model, Normalised(Enumerable.Range(1, 6).Select(seed => ParityImages.Procedural(seed, 224)).ToList(), 224), EvalOutput.Logits, "drawn scenes");

    [CaltechArchiveFact]
    public void The_pretrained_resnet18_gives_the_unfolded_logits_and_features_on_caltech_photographs()
    {
        using var batch = Normalised(ParityImages.FromCaltech(CaltechArchiveFactAttribute.Archive!, count: 8, 224).Select(i => i.Rgb).ToList(), 224);
        AssertParity(bundled.Model, batch, EvalOutput.Logits, "Caltech photographs, logits");
        AssertParity(bundled.Model, batch, EvalOutput.Features, "Caltech photographs, features");
    }

    [Theory]
    [InlineData("resnet50", 96, EvalOutput.Logits)]
    [InlineData("resnet50", 128, EvalOutput.Features)]
    [InlineData("resnet34", 112, EvalOutput.Logits)]
    public void A_resnet_with_trained_batchnorm_statistics_gives_the_same_outputs_at_any_size(string backbone, int size, EvalOutput what)
    {
        using var model = TrainedLooking.Model(backbone, seed: 7);
        using var images = rand(3, 3, size, size) * 4 - 2;
        AssertParity(model, images, what, $"{backbone} {size} px {what}");
    }

    [Fact]
    public void An_eval_pass_on_the_engine_gives_libtorchs_outputs_and_says_it_agreed()
    {
        using var model = TrainedLooking.Model("resnet18", seed: 7);
        var said = new List<string>();
        var engine = new OnnxRuntimeEngine(said.Add);
        var batches = RandomBatches(3, 5, 64);
        var outputs = new List<Tensor>();
        new EvalPass(model, CPU, channelsLast: true) { Engine = engine }.Run(batches.Select(b => b.Batch), (batch, logits) => outputs.Add(logits.detach().clone().MoveToOuterDisposeScope()));
        Assert.Equal(3, outputs.Count);
        Assert.Single(said);
        Assert.Contains("ONNX Runtime", said[0]);
        Assert.Contains("matched libtorch", said[0]);
        Assert.StartsWith("ONNX Runtime", engine.Outcome);
        using var reference = Unfolded(model, cat(batches.Select(b => b.Images).ToList(), 0), EvalOutput.Logits);
        AssertClose(reference, cat(outputs, 0), "eval pass on ONNX Runtime");
        Assert.Null(engine.CannotRun(model, CPU));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void An_engine_that_disagrees_is_set_aside_and_the_pass_runs_in_libtorch(double error)
    {
        using var model = TrainedLooking.Model("resnet18", seed: 7);
        var said = new List<string>();
        var engine = new Wrong(new OnnxRuntimeEngine(said.Add), error);
        var batches = RandomBatches(2, 4, 64);
        var outputs = new List<Tensor>();
        var pass = new EvalPass(model, CPU, channelsLast: false) { Engine = engine };
        pass.Run(batches.Select(b => b.Batch), (batch, logits) => outputs.Add(logits.detach().clone().MoveToOuterDisposeScope()));
        Assert.Single(said);
        Assert.Contains("set aside", said[0]);
        Assert.Contains(double.IsNaN(error) ? "NaN" : "differ from libtorch", said[0]);
        Assert.StartsWith("libtorch (ONNX Runtime", engine.Outcome);
        Assert.Equal(1, engine.Sessions);
        using var reference = Unfolded(model, cat(batches.Select(b => b.Images).ToList(), 0), EvalOutput.Logits);
        AssertClose(reference, cat(outputs, 0), "libtorch after the engine was set aside");
        Assert.NotNull(engine.CannotRun(model, CPU));

        // A later pass does not try it again.
        pass.Run(RandomBatches(1, 4, 64).Select(b => b.Batch), (_, _) => { });
        Assert.Equal(1, engine.Sessions);
    }

    [Fact]
    public void A_kept_session_serves_every_pass_and_is_checked_once()
    {
        using var model = TrainedLooking.Model("resnet18", seed: 7);
        var said = new List<string>();
        var counting = new Wrong(new OnnxRuntimeEngine(said.Add), 0.0);
        using var kept = new KeptSessionEngine(counting);
        var pass = new EvalPass(model, CPU, channelsLast: true) { Engine = kept };
        var batches = RandomBatches(3, 2, 64);
        var outputs = new List<Tensor>();
        int libtorchForwards = 0;
        var hook = model.register_forward_hook((m, input, o) => { libtorchForwards++; return o; });
        foreach (var one in batches)
            pass.Run([one.Batch], (_, logits) => outputs.Add(logits.detach().clone().MoveToOuterDisposeScope()));
        hook.remove();
        Assert.Equal(1, counting.Sessions);
        Assert.Equal(1, libtorchForwards); // the first pass's check; the two later passes ran on ONNX Runtime alone
        Assert.Single(said);
        using var reference = Unfolded(model, cat(batches.Select(b => b.Images).ToList(), 0), EvalOutput.Logits);
        AssertClose(reference, cat(outputs, 0), "three passes on one kept session");
    }

    [Fact]
    public void Bf16_and_fp64_models_are_left_to_libtorch()
    {
        using var model = ModelFactory.Create("resnet18", 5, TestSetup.Routing);
        var engine = new OnnxRuntimeEngine();
        Assert.Null(engine.CannotRun(model, CPU));
        model.Precision = ComputePrecision.Bf16;
        Assert.Contains("bf16", engine.CannotRun(model, CPU));
        model.Precision = ComputePrecision.Fp64;
        Assert.Contains("fp64", engine.CannotRun(model, CPU));
    }

    void AssertParity(ResNet model, Tensor images, EvalOutput what, string label)
    {
        model.eval();
        using var reference = Unfolded(model, images, what);
        using var session = new OnnxRuntimeEngine().Open(model, what);
        using var engine = session.Forward(images);
        AssertClose(reference, engine, label);
    }

    void AssertClose(Tensor reference, Tensor engine, string label)
    {
        Assert.Equal(reference.shape, engine.shape);
        double diff = (engine - reference).abs().max().item<float>(), scale = reference.abs().max().item<float>();
        output.WriteLine($"{label}: largest |ORT - libtorch unfolded| {diff:G3}, largest output {scale:G4}, relative {diff / scale:G3} (bar {Bar})");
        Assert.True(diff / scale <= Bar, $"{label}: ONNX Runtime's outputs differ by {diff / scale:G3} of the largest (bar {Bar})");
    }

    /// <summary>The model's own outputs with its BatchNorms run as layers (autograd on, so nothing is folded).</summary>
    static Tensor Unfolded(ResNet model, Tensor images, EvalOutput what)
    {
        using var _ = enable_grad();
        return (what == EvalOutput.Features ? model.Features(images) : model.call(images)).detach();
    }

    static List<(Tensor Images, FineTune.Data.Batch Batch)> RandomBatches(int count, int size, int pixels) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var images = rand(size, 3, pixels, pixels) * 4 - 2;
            return (images, new FineTune.Data.Batch(images.clone(), zeros(size, dtype: ScalarType.Int64), [.. Enumerable.Range(0, size)], [.. Enumerable.Range(0, size).Select(j => $"random/{i}/{j}")]));
        }).ToList();

    Tensor Normalised(List<float[]> rgb, int size) =>
        bundled.Weights.Preprocessing.Normalize(tensor(rgb.SelectMany(i => i).ToArray(), [rgb.Count, 3, size, size]));

    /// <summary>A faulty engine: ONNX Runtime with <paramref name="error"/> added to every output (NaN: a kernel that makes NaN).</summary>
    sealed class Wrong(OnnxRuntimeEngine inner, double error) : IEvalEngine
    {
        public int Sessions { get; private set; }
        public string Name => inner.Name;
        public string? CannotRun(ResNet model, Device device) => inner.CannotRun(model, device);
        public void Disagreed(string detail) => inner.Disagreed(detail);
        public void Agreed(double relativeDifference) => inner.Agreed(relativeDifference);
        public string? Outcome => inner.Outcome;
        public IEvalSession Open(ResNet model, EvalOutput output)
        {
            Sessions++;
            return new Session(inner.Open(model, output), error);
        }

        sealed class Session(IEvalSession inner, double error) : IEvalSession
        {
            public bool Agreed { get; set; }

            public Tensor Forward(Tensor images)
            {
                using var outputs = inner.Forward(images);
                return outputs + error;
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
