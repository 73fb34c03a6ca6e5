using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Models;

/// <summary>
/// torch.autocast('cpu', dtype=torch.bfloat16) for our ResNet, which TorchSharp lacks: convolutions and the linear
/// layer compute in the dtype of their input, with their fp32 weights cast to it in each forward. The cast is part of
/// the autograd graph, so gradients flow back to the fp32 parameters (the "master weights"), which the optimiser
/// updates in fp32. Everything else follows PyTorch 1.13 under CPU autocast, checked on this machine: BatchNorm takes
/// the bf16 activations with its fp32 affine parameters and running statistics (libtorch's mixed-dtype kernel keeps
/// the statistics in fp32) and returns bf16; ReLU, max-pool, the residual add and the average pool stay in bf16.
/// The logits are returned in fp32 (<see cref="ResNet.forward"/>), so softmax, the loss and every metric are fp32.
/// </summary>
static class Autocast
{
    /// <summary>
    /// The convolution of <paramref name="conv"/> on <paramref name="x"/>, in x's dtype when that is reduced, by the route
    /// <paramref name="routing"/> takes for its shape and dtype. ResNet convolutions have no bias.
    /// </summary>
    public static Tensor Conv(KernelRouting routing, Conv2d conv, Tensor x)
    {
        if (x.dtype == conv.weight.dtype) return routing.Conv(conv, x);
        using var scope = NewDisposeScope();
        var weight = conv.weight.to(x.dtype); // keeps channels-last weights channels-last
        return routing.Conv(conv, x, weight).MoveToOuterDisposeScope();
    }

    /// <summary>The linear layer in x's dtype (cast weights), its output in fp32 for the loss and softmax.</summary>
    public static Tensor Linear(Linear fc, Tensor x, ScalarType computeIn)
    {
        if (computeIn == fc.weight!.dtype) return fc.call(x);
        using var scope = NewDisposeScope();
        var y = nn.functional.linear(x.to(computeIn), fc.weight.to(computeIn), fc.bias?.to(computeIn));
        return y.to(fc.weight.dtype).MoveToOuterDisposeScope();
    }

    public static ScalarType DtypeOf(ComputePrecision p) => p switch
    {
        ComputePrecision.Bf16 => ScalarType.BFloat16,
        ComputePrecision.Fp64 => ScalarType.Float64,
        _ => ScalarType.Float32,
    };

    /// <summary>The logits' dtype: fp32, the loss's and softmax's, except in an fp64 (verification) run, where everything is float64.</summary>
    public static ScalarType LogitsDtypeOf(ComputePrecision p) => p == ComputePrecision.Fp64 ? ScalarType.Float64 : ScalarType.Float32;
}
