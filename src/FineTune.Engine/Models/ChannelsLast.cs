using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Models;

/// <summary>
/// Channels-last (NHWC) memory for images and convolution weights, keeping the NCHW shape.
///
/// Why: on the CPU, libtorch runs convolutions with oneDNN, which prefers NHWC. With plain NCHW tensors
/// every convolution reorders its input and output into oneDNN's layout and back; with channels-last
/// inputs (or weights) it does not, and BatchNorm, ReLU, pooling and add keep the format, so it flows
/// through the whole network. TorchSharp 0.107 has no memory_format argument, so the layout is made the
/// way PyTorch defines it: NHWC storage seen through an NCHW permutation (strides [HWC, 1, WC, C]).
/// </summary>
public static class ChannelsLast
{
    /// <summary>A channels-last copy of a 4-D NCHW tensor (or the tensor itself if it already is).</summary>
    public static Tensor Of(Tensor nchw)
    {
        if (nchw.dim() != 4) throw new ArgumentException($"Channels-last needs a 4-D NCHW tensor; got shape [{string.Join(", ", nchw.shape)}].");
        if (Is(nchw)) return nchw.alias();
        using var scope = NewDisposeScope();
        return nchw.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A batch of images moved to <paramref name="device"/>, channels-last when <paramref name="channelsLast"/>: only
    /// the input needs converting, since convolutions follow their input's layout through the network, and weights
    /// that stay NCHW keep checkpoints writable (TorchSharp saves contiguous tensors only).
    /// </summary>
    /// The kernel check can turn channels-last off for a CPU whose kernels for it fail (<see cref="KernelRouting.ChannelsLast"/>).
    public static Tensor Input(Tensor images, Device device, bool channelsLast, KernelRouting routing)
    {
        var onDevice = images.to(device);
        return channelsLast && routing.ChannelsLast && onDevice.dim() == 4 ? Of(onDevice) : onDevice;
    }

    /// <summary>
    /// True when a 4-D tensor is laid out NHWC (channels densest). As in PyTorch, dimensions of size 1 do not
    /// count, so a 1x1 kernel is both NCHW and NHWC at once.
    /// </summary>
    public static bool Is(Tensor t)
    {
        if (t.dim() != 4) return false;
        var (strides, sizes) = (t.stride(), t.shape);
        long expected = 1;
        foreach (var d in (ReadOnlySpan<int>)[1, 3, 2, 0])
        {
            if (sizes[d] == 1) continue;
            if (strides[d] != expected) return false;
            expected *= sizes[d];
        }
        return true;
    }

    /// <summary>
    /// Converts every 4-D parameter (convolution weights) of <paramref name="module"/> in place, as PyTorch's
    /// module.to(memory_format=torch.channels_last) does. The parameters stay the same objects, so an
    /// optimiser made before or after sees them; gradients follow the weights' layout.
    /// </summary>
    public static void Convert(nn.Module module)
    {
        using var guard = no_grad();
        foreach (var (_, parameter) in module.named_parameters())
        {
            if (parameter.dim() != 4 || Is(parameter)) continue;
            using var nhwc = Of(parameter);
            parameter.set_(nhwc);
        }
    }
}
