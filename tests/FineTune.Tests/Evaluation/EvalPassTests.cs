using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Tests.Training;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Evaluation;

/// <summary>
/// The one evaluation loop (validation, the probe's features, test, predict, the bench): the model in eval mode,
/// autograd off, every batch handed over once and disposed after, and the very numbers of the model's own forward.
/// </summary>
public class EvalPassTests
{
    // 3 held-out images per class of 4 classes, batches of 5: a short last batch too.
    static InMemoryBatchSource Images() => SyntheticImages.Test(Tiny.Classes, 6, 32, 5, seed: 11, Preprocessing.ImageNet);

    [Fact]
    public void Every_batch_runs_in_eval_mode_without_gradients_and_is_disposed_after_its_call()
    {
        using var model = Tiny.Model();
        model.train();
        using var source = Images();
        var batches = new List<Batch>();
        new EvalPass(model, CPU, channelsLast: true).Run(source.Epoch(1), (batch, logits) =>
        {
            Assert.False(model.training);
            Assert.False(is_grad_enabled());
            Assert.False(logits.requires_grad);
            Assert.Equal(new long[] { batch.Count, Tiny.Classes }, logits.shape);
            Assert.Equal(ScalarType.Float32, logits.dtype);
            Assert.False(batch.Images.IsInvalid);
            batches.Add(batch);
        });
        Assert.Equal(source.ImageCount, batches.Sum(b => b.Count));
        Assert.Equal(source.BatchCount, batches.Count);
        Assert.True(is_grad_enabled(), "the pass must give autograd back as it found it");
        Assert.All(batches, b => Assert.True(b.Images.IsInvalid && b.Labels.IsInvalid, "a batch is disposed once its call returns"));
    }

    [Theory]
    [InlineData(EvalOutput.Logits, ComputePrecision.Fp32)]
    [InlineData(EvalOutput.Features, ComputePrecision.Fp32)]
    [InlineData(EvalOutput.Logits, ComputePrecision.Bf16)]
    [InlineData(EvalOutput.Features, ComputePrecision.Bf16)]
    public void Outputs_are_the_models_own_forward_bit_for_bit(EvalOutput output, ComputePrecision precision)
    {
        using var model = Tiny.Model();
        model.Precision = precision; // bf16 is autocast inside the model's forward: the pass casts nothing itself
        model.eval();
        using var source = Images();
        int compared = 0;
        new EvalPass(model, CPU, channelsLast: false, output).Run(source.Epoch(1), (batch, outputs) =>
        {
            using var expected = output == EvalOutput.Logits ? model.call(batch.Images) : model.Features(batch.Images);
            Assert.Equal(ScalarType.Float32, outputs.dtype);
            using var same = expected.equal(outputs).all();
            Assert.True(same.item<bool>(), $"batch {compared}: the pass's {output} differ from the model's own forward");
            compared++;
        });
        Assert.Equal(source.BatchCount, compared);
    }

    [Fact]
    public void Inference_mode_gives_the_same_numbers_as_no_grad()
    {
        using var model = Tiny.Model();
        using var source = Images();
        var noGrad = new List<float[]>();
        new EvalPass(model, CPU, channelsLast: true).Run(source.Epoch(1), (_, logits) => noGrad.Add(logits.data<float>().ToArray()));
        var inference = new List<float[]>();
        new EvalPass(model, CPU, channelsLast: true, inferenceMode: true).Run(source.Epoch(1), (_, logits) => inference.Add(logits.data<float>().ToArray()));
        Assert.Equal(noGrad, inference);
    }

    [Fact]
    public void Forward_alone_turns_autograd_off_for_its_call_only()
    {
        using var model = Tiny.Model();
        using var images = randn(2, 3, 32, 32);
        var pass = new EvalPass(model, CPU, channelsLast: true).EvalMode();
        Assert.False(model.training);
        using var logits = pass.Forward(pass.Input(images));
        Assert.False(logits.requires_grad);
        Assert.True(is_grad_enabled());
    }

    [Fact]
    public void Class_probabilities_of_a_batch_are_those_the_loop_gives_for_it()
    {
        using var model = Tiny.Model();
        model.train();
        using var source = Images();
        var pass = EvalPass.ForInference(model, CPU);
        var fromLoop = new List<float[][]>();
        var direct = new List<float[][]>();
        pass.Run(source.Epoch(1), (batch, logits) =>
        {
            fromLoop.Add(EvalPass.Probabilities(logits));
            direct.Add(pass.ClassProbabilities(batch.Images));
        });
        Assert.Equal(fromLoop, direct);
        model.train();
        using var images = randn(1, 3, 32, 32);
        Assert.Single(pass.ClassProbabilities(images));
        Assert.False(model.training, "probabilities come from the model in eval mode");
    }

    [Theory]
    [InlineData(EvalOutput.Logits)]
    [InlineData(EvalOutput.Features)]
    public void With_flip_averaging_each_output_is_the_mean_of_the_image_and_its_mirror_image(EvalOutput output)
    {
        using var model = Tiny.Model();
        model.eval();
        using var source = Images();
        int compared = 0;
        var pass = new EvalPass(model, CPU, channelsLast: true, output) { FlipAverage = true };
        pass.Run(source.Epoch(1), (batch, outputs) =>
        {
            // Two separate forwards of the image and of its mirror image, averaged here.
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            Tensor Of(Tensor x) => output == EvalOutput.Logits ? model.call(x) : model.Features(x);
            var expected = (Of(batch.Images) + Of(batch.Images.flip(3))) / 2;
            Assert.Equal(expected.shape, outputs.shape);
            // One batch of 2N against two of N: oneDNN may sum in another order, so fp32 rounding, not bits.
            double scale = expected.abs().max().item<float>();
            double difference = (expected - outputs).abs().max().item<float>();
            Assert.True(difference <= 1e-5 * scale, $"batch {compared}: {difference} of {scale}");
            // And it is not the plain forward: the mirror image changes the outputs of these asymmetric shapes.
            Assert.True((Of(batch.Images) - outputs).abs().max().item<float>() > 1e-3 * scale, "the flip changed nothing: the test proves nothing");
            compared++;
        });
        Assert.Equal(source.BatchCount, compared);
        // One image outside the loop: the same average.
        using var image = randn(1, 3, 32, 32);
        using var probabilities = nn.functional.softmax((model.call(image) + model.call(image.flip(3))) / 2, 1);
        var direct = EvalPass.ForInference(model, CPU, flipAverage: true).ClassProbabilities(image)[0];
        Assert.Equal(probabilities.data<float>().ToArray(), direct, (a, b) => Math.Abs(a - b) <= 1e-5f);
    }

    [Fact]
    public void Probabilities_are_the_softmax_of_the_logits_one_row_per_image()
    {
        using var logits = tensor(new float[] { 1, 2, 3, 0, 0, 0 }).reshape(2, 3);
        var p = EvalPass.Probabilities(logits);
        Assert.Equal(2, p.Length);
        Assert.All(p, row => Assert.Equal(1.0, row.Sum(), 5));
        using var expected = nn.functional.softmax(logits, 1);
        Assert.Equal(expected.data<float>().ToArray(), p.SelectMany(r => r).ToArray());
        Assert.Equal(new[] { 1 / 3f, 1 / 3f, 1 / 3f }, p[1]);
    }
}
