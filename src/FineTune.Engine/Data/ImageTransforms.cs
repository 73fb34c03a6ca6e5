using FineTune.Config;
using SkiaSharp;

namespace FineTune.Data;

/// <summary>
/// The seed's training pipeline: RandomResizedCrop(Size, scale, ratio) with torchvision's sampling rule,
/// RandomHorizontalFlip(FlipProbability), RandomRotation(±RotationDegrees).
/// </summary>
public sealed record TrainTransform(int Size = 224, double ScaleMin = 0.8, double ScaleMax = 1.0, double RatioMin = 0.8, double RatioMax = 1.2,
    double FlipProbability = 0.5, double RotationDegrees = 15) : ImageTransform(Size)
{
    /// <summary>A resolution schedule over epochs (<see cref="Size"/> is then its last and largest size); null: every epoch at <see cref="Size"/>.</summary>
    public SizeSchedule? Schedule { get; init; }

    /// <summary>This transform at epoch <paramref name="epoch"/>'s size.</summary>
    public TrainTransform ForEpoch(int epoch) => Schedule is null ? this : this with { Size = Schedule.For(epoch) };

    public TrainTransform Validate()
    {
        ValidateSize();
        if (Schedule is not null && (Schedule.Last != Size || Schedule.First > Size))
            throw new DatasetException($"Resolution schedule {Schedule} does not rise to the transform's size {Size}; the size is the schedule's last.");
        if (!(ScaleMin > 0 && ScaleMin <= ScaleMax && ScaleMax <= 1)) throw new DatasetException($"Crop scale range {ScaleMin}..{ScaleMax} is invalid; use 0 < min <= max <= 1.");
        if (!(RatioMin > 0 && RatioMin <= RatioMax)) throw new DatasetException($"Crop ratio range {RatioMin}..{RatioMax} is invalid; use 0 < min <= max.");
        if (!(FlipProbability >= 0 && FlipProbability <= 1)) throw new DatasetException($"Flip probability {FlipProbability} is invalid; use 0..1.");
        if (!(RotationDegrees >= 0 && RotationDegrees <= 180)) throw new DatasetException($"Rotation {RotationDegrees} degrees is invalid; use 0..180.");
        return this;
    }

    public override AffinePlan Plan(int width, int height, ref SplitMix64 random)
    {
        var crop = RandomResizedCrop(width, height, ref random);
        bool flip = random.NextDouble() < FlipProbability;
        float angle = RotationDegrees > 0 ? (float)random.Uniform(-RotationDegrees, RotationDegrees) : 0f;
        return new AffinePlan(crop, flip, angle, Size, Size);
    }

    /// <summary>torchvision's RandomResizedCrop.get_params: ten tries at a random area and log-uniform aspect, then a centre crop.</summary>
    SKRect RandomResizedCrop(int width, int height, ref SplitMix64 random)
    {
        double area = (double)width * height;
        double logMin = Math.Log(RatioMin), logMax = Math.Log(RatioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * random.Uniform(ScaleMin, ScaleMax);
            double aspect = Math.Exp(random.Uniform(logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(target * aspect));
            int h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && h > 0 && w <= width && h <= height)
            {
                int top = random.NextInt(height - h + 1), left = random.NextInt(width - w + 1);
                return SKRect.Create(left, top, w, h);
            }
        }
        double ratio = (double)width / height;
        int cw = width, ch = height;
        if (ratio < RatioMin) ch = (int)Math.Round(cw / RatioMin);
        else if (ratio > RatioMax) cw = (int)Math.Round(ch * RatioMax);
        return SKRect.Create((width - cw) / 2, (height - ch) / 2, cw, ch);
    }
}

/// <summary>The seed's pipelines by name, on <see cref="ImageTransform"/> (which lives in FineTune.Inference, without the training one).</summary>
public static class ImageTransformPresets
{
    extension(ImageTransform)
    {
        /// <summary>The seed's pipelines by name: "train" and "eval".</summary>
        public static ImageTransform Preset(string name, int size = 224) => name switch
        {
            "train" => new TrainTransform(size),
            "eval" => new EvalTransform(size),
            _ => throw new DatasetException($"Unknown transform preset '{name}'; use 'train' or 'eval'."),
        };
    }
}
