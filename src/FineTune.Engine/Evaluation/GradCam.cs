using FineTune.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FineTune.Evaluation;

/// <summary>
/// Grad-CAM (Selvaraju et al., 2017) on the last stage (layer4): where in an image the evidence for a class lies.
/// For each image, A = layer4's output [C, h, w] and G = d(logit of the target class) / dA; each channel's weight is
/// G's spatial mean, the map is ReLU(sum_c weight_c · A_c), upsampled bilinearly (align_corners=False, as PyTorch's
/// default) to the input's size and divided by its maximum, so 1 is the strongest evidence in that image. Where the
/// maximum is 0 (no place raises the class's score) the map is all zeros: nothing to show, rather than noise blown up.
/// </summary>
/// <remarks>
/// Computed in eval mode (BatchNorm on its running statistics, so the images of a batch do not affect each other) and in
/// fp32: a bf16 model's autocast is switched off for the pass and back on after it (a float64 verification model stays
/// float64). The forward up to layer4 is <see cref="ResNet.FeatureMap"/> with autograd off, the same forward as every
/// evaluation, so its convolutions go through the kernel plan (<see cref="Kernels.ConvRoutes"/>). Autograd is on only
/// from A to the logits: after layer4 a ResNet has only the average pool and the classifier, so the gradient passes
/// through no convolution, and the evaluation kernels that `finetune test` checks cover all of it. (It also means that on
/// a ResNet Grad-CAM's weights are the classifier's row for the class divided by h·w: Grad-CAM equals CAM here.)
/// </remarks>
/// <param name="channelsLast">Hand the convolutions channels-last input, as <see cref="EvalPass"/> does (the kernel plan may turn it off).</param>
public sealed class GradCam(ResNet model, Device device, bool channelsLast = true)
{
    /// <summary>
    /// The heatmaps of a batch of normalised images [N, 3, H, W] for one target class each: N arrays of H·W values in
    /// [0, 1], row-major. Every tensor made here is freed before it returns, and no parameter's gradient is touched.
    /// </summary>
    public float[][] Compute(Tensor images, IReadOnlyList<int> targets)
    {
        var (n, height, width) = ((int)images.shape[0], images.shape[2], images.shape[3]);
        if (targets.Count != n) throw new ArgumentException($"{targets.Count} target classes for {n} images; give one per image.", nameof(targets));
        model.eval();
        var precision = model.Precision;
        if (precision == ComputePrecision.Bf16) model.Precision = ComputePrecision.Fp32;
        try
        {
            using var scope = NewDisposeScope();
            Tensor activations;
            using (no_grad()) activations = model.FeatureMap(ChannelsLast.Input(images, device, channelsLast, model.Routing));
            using var grad = enable_grad();
            activations.requires_grad_(true); // a leaf: the graph starts here, so backward stops here
            var logits = model.Logits(activations);
            using var index = tensor(targets.Select(t => (long)t).ToArray(), int64, device).unsqueeze(1);
            // Image i's logit depends on image i's activations only (eval mode), so the gradient of the sum is each image's own.
            var score = logits.gather(1, index).sum();
            // autograd.grad rather than backward: the classifier's parameters get no .grad from a report.
            var gradient = autograd.grad([score], [activations])[0];
            var weights = gradient.mean([2, 3], keepdim: true);
            var cam = F.relu((weights * activations.detach()).sum(1, keepdim: true));
            var map = F.interpolate(cam, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
            var max = map.amax([2, 3], keepdim: true);
            var normalised = where(max > 0, map / max.clamp_min(float.Epsilon), zeros_like(map)).to(float32).cpu().contiguous();
            var values = normalised.data<float>().ToArray();
            var plane = (int)(height * width);
            return [.. Enumerable.Range(0, n).Select(i => values.AsSpan(i * plane, plane).ToArray())];
        }
        finally
        {
            model.Precision = precision;
        }
    }
}
