using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>
/// <see cref="Preprocessing"/> on libtorch tensors. The record itself lives in FineTune.Inference, which has no libtorch;
/// these members read as its own (<c>preprocessing.Normalize(x)</c>).
/// </summary>
public static class PreprocessingTensors
{
    extension(Preprocessing p)
    {
        /// <summary>Normalises a batch of RGB images in [0, 1], shape [N, 3, H, W], for the model.</summary>
        public Tensor Normalize(Tensor rgb01)
        {
            using var scope = NewDisposeScope();
            var x = p.PixelScale == 1f ? rgb01 : rgb01 * p.PixelScale;
            if (p.ChannelOrder == ChannelOrder.Bgr) x = x.flip(1);
            var mean = MeanFor(p, x);
            using var std = tensor(p.Std, dtype: float32, device: x.device).view(1, 3, 1, 1);
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
            var mean = MeanFor(p, x);
            var std = tensor(p.Std, dtype: float32, device: x.device).view(1, 3, 1, 1);
            var y = x * std + mean;
            if (p.ChannelOrder == ChannelOrder.Bgr) y = y.flip(1);
            return (p.PixelScale == 1f ? y : y / p.PixelScale).clamp(0, 1).MoveToOuterDisposeScope();
        }
    }

    /// <summary>The mean to subtract from a batch shaped like <paramref name="x"/>: the mean image at its size, or the channel means.</summary>
    static Tensor MeanFor(Preprocessing p, Tensor x) => p.MeanImage is { } image
        ? tensor(image.ResizedTo((int)x.shape[2], (int)x.shape[3]), [1, 3, x.shape[2], x.shape[3]], dtype: float32, device: x.device)
        : tensor(p.Mean, dtype: float32, device: x.device).view(1, 3, 1, 1);
}
