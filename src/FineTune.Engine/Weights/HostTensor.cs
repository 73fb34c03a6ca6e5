using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>
/// A float32 tensor in managed memory (row-major): what converters and caches pass around before anything
/// touches libtorch, so they can be tested and cached without native memory to dispose.
/// </summary>
public sealed record HostTensor(long[] Shape, float[] Values)
{
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>
    /// Copies a torchvision state dict into torch tensors (the caller owns them), adding the
    /// num_batches_tracked counter (0) that torchvision's BatchNorm layers carry and converted files lack.
    /// </summary>
    public static Dictionary<string, Tensor> ToTorchStateDict(IReadOnlyDictionary<string, HostTensor> state)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, host) in state)
        {
            result[name] = tensor(host.Values, host.Shape, dtype: float32);
            const string runningMean = ".running_mean";
            if (name.EndsWith(runningMean, StringComparison.Ordinal))
                result[name[..^runningMean.Length] + ".num_batches_tracked"] = tensor(0L);
        }
        return result;
    }
}
