using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Evaluation;

/// <summary>Class probabilities from a model, the way test and predict both need them.</summary>
public static class ModelInference
{
    /// <summary>
    /// Softmax probabilities for a batch of normalised images [N, 3, H, W], one float[] per image.
    /// The caller puts the model in eval mode once (BatchNorm on running statistics); this runs without gradients.
    /// </summary>
    public static float[][] Probabilities(ResNet model, Tensor images, Device device)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // On the CPU, oneDNN's convolutions run faster on channels-last input (measured: finetune bench); same numbers.
        var input = ChannelsLast.Input(images, device, channelsLast: device.type == TorchSharp.DeviceType.CPU);
        var probabilities = nn.functional.softmax(model.call(input), 1).to(CPU).contiguous();
        int n = (int)probabilities.shape[0], classes = (int)probabilities.shape[1];
        var flat = probabilities.data<float>().ToArray();
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
    }
}
