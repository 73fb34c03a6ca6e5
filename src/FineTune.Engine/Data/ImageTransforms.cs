using SkiaSharp;

namespace FineTune.Data;

/// <summary>
/// Where one output image comes from, in the source image's pixel coordinates: a crop rectangle, then an optional
/// horizontal flip, then a rotation about the output's centre (corners filled black, as torchvision's fill=0).
/// All of it becomes ONE affine resample, so each output pixel is interpolated once.
/// </summary>
public readonly record struct AffinePlan(SKRect Crop, bool Flip, float RotationDegrees, int OutWidth, int OutHeight)
{
    /// <summary>Scale factor from source to output (the larger of the two axes): the decoder may shrink the source this far for free.</summary>
    public float RequiredSourceScale => Math.Max(OutWidth / Crop.Width, OutHeight / Crop.Height);

    /// <summary>The matrix taking source pixels (of a copy shrunk by <paramref name="sourceScale"/>) to output pixels.</summary>
    public SKMatrix Matrix(float sourceScale)
    {
        var m = SKMatrix.CreateScale(1 / sourceScale, 1 / sourceScale);                       // shrunk copy -> original pixels
        m = m.PostConcat(SKMatrix.CreateTranslation(-Crop.Left, -Crop.Top));                  // -> crop
        m = m.PostConcat(SKMatrix.CreateScale(OutWidth / Crop.Width, OutHeight / Crop.Height)); // -> output size
        if (Flip) m = m.PostConcat(SKMatrix.CreateScale(-1, 1, OutWidth / 2f, 0));
        // PIL/torchvision rotate counter-clockwise for positive angles; with y pointing down that is a negative Skia angle.
        if (RotationDegrees != 0) m = m.PostConcat(SKMatrix.CreateRotationDegrees(-RotationDegrees, OutWidth / 2f, OutHeight / 2f));
        return m;
    }
}

/// <summary>A named pipeline that turns an image size and a random stream into an <see cref="AffinePlan"/>.</summary>
public abstract record ImageTransform(int Size)
{
    public abstract AffinePlan Plan(int width, int height, ref SplitMix64 random);

    /// <summary>The seed's pipelines by name: "train" and "eval".</summary>
    public static ImageTransform Preset(string name, int size = 224) => name switch
    {
        "train" => new TrainTransform(size),
        "eval" => new EvalTransform(size),
        _ => throw new DatasetException($"Unknown transform preset '{name}'; use 'train' or 'eval'."),
    };

    protected void ValidateSize()
    {
        if (Size < 8 || Size > 4096) throw new DatasetException($"Image size {Size} is out of range; use 8..4096 (224 for ImageNet weights).");
    }
}

/// <summary>
/// The seed's training pipeline: RandomResizedCrop(Size, scale, ratio) with torchvision's sampling rule,
/// RandomHorizontalFlip(FlipProbability), RandomRotation(±RotationDegrees).
/// </summary>
public sealed record TrainTransform(int Size = 224, double ScaleMin = 0.8, double ScaleMax = 1.0, double RatioMin = 0.8, double RatioMax = 1.2,
    double FlipProbability = 0.5, double RotationDegrees = 15) : ImageTransform(Size)
{
    public TrainTransform Validate()
    {
        ValidateSize();
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

public enum ResizeMode
{
    /// <summary>Resize to Size x Size ignoring the aspect ratio (the seed's `Resize((224, 224))`).</summary>
    Stretch,
    /// <summary>Keep the aspect ratio and take the centre Size x Size square (torchvision's Resize(256) + CenterCrop(224) when CropFraction = 0.875).</summary>
    CenterCrop,
}

/// <summary>The seed's evaluation pipeline: resize to Size x Size. No randomness.</summary>
public sealed record EvalTransform(int Size = 224, ResizeMode Mode = ResizeMode.Stretch, double CropFraction = 0.875) : ImageTransform(Size)
{
    public EvalTransform Validate()
    {
        ValidateSize();
        if (!(CropFraction > 0 && CropFraction <= 1)) throw new DatasetException($"Centre-crop fraction {CropFraction} is invalid; use 0 < f <= 1.");
        return this;
    }

    public override AffinePlan Plan(int width, int height, ref SplitMix64 random)
    {
        if (Mode == ResizeMode.Stretch) return new AffinePlan(SKRect.Create(0, 0, width, height), false, 0, Size, Size);
        float side = (float)(Math.Min(width, height) * CropFraction);
        return new AffinePlan(SKRect.Create((width - side) / 2, (height - side) / 2, side, side), false, 0, Size, Size);
    }
}
