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

    public override string ToString() =>
        $"{InputSize}px, {ChannelOrder}, pixels x{PixelScale:0.###}, {(MeanImage is { } image ? $"mean image {image.Height}x{image.Width} averaging" : "mean")} [{string.Join(", ", Mean.Select(m => m.ToString("0.###")))}], std [{string.Join(", ", Std.Select(s => s.ToString("0.###")))}]";
}
