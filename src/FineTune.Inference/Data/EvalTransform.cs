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

    protected void ValidateSize()
    {
        if (Size < 8 || Size > 4096) throw new DatasetException($"Image size {Size} is out of range; use 8..4096 (224 for ImageNet weights).");
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
