using FineTune.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Models;

/// <summary>
/// A convolution and the BatchNorm after it. In evaluation (BatchNorm on its running statistics, autograd off) they are
/// one convolution: the BatchNorm's scale γ/√(σ²+ε) multiplies the weight and its shift β − μ·scale becomes the bias,
/// which oneDNN adds inside the convolution kernel, so the BatchNorm's own pass over the activations is gone (ONNX
/// Runtime folds them the same way when it loads the graph). In training, or wherever gradients flow, the two run
/// apart as always, so training computes exactly what it did.
/// </summary>
static class ConvBatchNorm
{
    public static Tensor Apply(KernelRouting routing, Conv2d conv, BatchNorm2d bn, Tensor x)
    {
        if (bn.training || is_grad_enabled() || bn.running_mean is null || bn.running_var is null)
        {
            var y = Autocast.Conv(routing, conv, x);
            return ResNet.Then(y, bn.call(y));
        }
        using var scope = NewDisposeScope();
        // Folded per call from the current parameters: nothing cached can go stale when weights load or training moves
        // them; this costs one pass over the weights, small beside the convolution at any real batch.
        using var eps = bn.eps.ToScalar(); // Scalars: held to the end of the call, never left to the finalizer
        var scale = bn.running_var.add(eps, Scalars.One).rsqrt_();
        if (bn.weight is not null) scale.mul_(bn.weight);
        var weight = conv.weight!.mul(scale.view(-1, 1, 1, 1));
        var bias = bn.running_mean.mul(scale).neg_();
        if (bn.bias is not null) bias.add_(bn.bias, Scalars.One);
        if (weight.dtype != x.dtype) (weight, bias) = (weight.to(x.dtype), bias.to(x.dtype)); // bf16 autocast
        return routing.Conv(conv, x, weight, bias).MoveToOuterDisposeScope();
    }
}
