using static TorchSharp.torch;

namespace FineTune.Weights;

public enum ChannelOrder { Rgb, Bgr }

/// <summary>
/// How pixels must be prepared for a set of weights: the model sees
/// (reorder(rgb01 · PixelScale) − Mean) / Std, with Mean and Std given in the model's channel order
/// (Mean becomes a per-pixel MeanImage for weights trained with one).
/// torchvision: scale 1, RGB, ImageNet mean/std. The bundled CNTK model: scale 255, BGR, a mean image, std 1.
/// </summary>
public sealed record Preprocessing(int InputSize, float PixelScale, ChannelOrder ChannelOrder, float[] Mean, float[] Std)
{
    /// <summary>
    /// When set, subtracted per pixel (resized to the batch's size) instead of <see cref="Mean"/>, which then only
    /// summarises it. Pipelines that fold the mean into a lookup table must subtract <see cref="MeanImage.ResizedTo"/> too:
    /// with the bundled ResNet-18 the channel means alone move the pooled features by about 4% of the largest one
    /// (measured in BundledResNet18ParityTests), against 5e-7 with the image.
    /// </summary>
    public MeanImage? MeanImage { get; init; }

    /// <summary>torchvision's ImageNet preprocessing (IMAGENET1K_V1 transforms).</summary>
    public static Preprocessing ImageNet { get; } =
        new(224, 1f, ChannelOrder.Rgb, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Normalises a batch of RGB images in [0, 1], shape [N, 3, H, W], for the model.</summary>
    public Tensor Normalize(Tensor rgb01)
    {
        using var scope = NewDisposeScope();
        var x = PixelScale == 1f ? rgb01 : rgb01 * PixelScale;
        if (ChannelOrder == ChannelOrder.Bgr) x = x.flip(1);
        var mean = MeanFor(x);
        using var std = tensor(Std, dtype: float32, device: x.device).view(1, 3, 1, 1);
        return ((x - mean) / std).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The inverse of <see cref="Normalize"/>: the RGB [0, 1] images [N, 3, H, W] the model was shown (the report draws
    /// heatmaps over exactly these pixels, crop and all), clamped to [0, 1].
    /// </summary>
    public Tensor Denormalize(Tensor normalised)
    {
        using var scope = NewDisposeScope();
        var x = normalised.to(float32);
        var mean = MeanFor(x);
        var std = tensor(Std, dtype: float32, device: x.device).view(1, 3, 1, 1);
        var y = x * std + mean;
        if (ChannelOrder == ChannelOrder.Bgr) y = y.flip(1);
        return (PixelScale == 1f ? y : y / PixelScale).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The mean to subtract from a batch shaped like <paramref name="x"/>: the mean image at its size, or the channel means.</summary>
    Tensor MeanFor(Tensor x) => MeanImage is { } image
        ? tensor(image.ResizedTo((int)x.shape[2], (int)x.shape[3]), [1, 3, x.shape[2], x.shape[3]], dtype: float32, device: x.device)
        : tensor(Mean, dtype: float32, device: x.device).view(1, 3, 1, 1);

    public override string ToString() =>
        $"{InputSize}px, {ChannelOrder}, pixels x{PixelScale:0.###}, {(MeanImage is { } image ? $"mean image {image.Height}x{image.Width} averaging" : "mean")} [{string.Join(", ", Mean.Select(m => m.ToString("0.###")))}], std [{string.Join(", ", Std.Select(s => s.ToString("0.###")))}]";
}
