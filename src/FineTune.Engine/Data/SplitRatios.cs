using System.Globalization;

namespace FineTune.Data;

public enum Split { Train, Val, Test }

/// <summary>The seed's `train_size`, `val_size`, `test_size`: each in (0, 1), summing to 1.</summary>
public sealed record SplitRatios(double Train, double Val, double Test)
{
    public static SplitRatios Seed { get; } = new(0.5, 0.25, 0.25);

    public SplitRatios Validate()
    {
        foreach (var (key, v) in new[] { ("train_size", Train), ("val_size", Val), ("test_size", Test) })
            if (!(v > 0 && v < 1))
                throw new DatasetException($"data.{key} is {v.ToString(CultureInfo.InvariantCulture)}; each split ratio must lie strictly between 0 and 1.");
        var sum = Train + Val + Test;
        if (Math.Abs(sum - 1) > 1e-6)
            throw new DatasetException($"data.train_size + val_size + test_size is {sum.ToString(CultureInfo.InvariantCulture)}; the three ratios must sum to 1.");
        return this;
    }

    /// <summary>
    /// Images of a class of <paramref name="n"/> per split: train and val rounded, test takes the rest.
    /// Null when some split would get none (the caller names the class).
    /// </summary>
    public (int Train, int Val, int Test)? Counts(int n)
    {
        int train = (int)Math.Round(n * Train, MidpointRounding.AwayFromZero);
        int val = (int)Math.Round(n * Val, MidpointRounding.AwayFromZero);
        // Small classes: give every split one image before rounding would starve it.
        train = Math.Max(train, 1); val = Math.Max(val, 1);
        int test = n - train - val;
        if (test < 1 && train > 1) { train--; test++; }
        if (test < 1 && val > 1) { val--; test++; }
        return train >= 1 && val >= 1 && test >= 1 ? (train, val, test) : null;
    }

    /// <summary>
    /// The fewest images a class needs for <see cref="Counts"/> to give every split one: 3 for the seed's ratios, more where
    /// a ratio is so small that rounding starves its split (6 for 0.9/0.05/0.05). Larger classes always split.
    /// </summary>
    public int MinimumClassSize()
    {
        int n = 1;
        while (Counts(n) is null) n++;
        return n;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Train:0.###}/{Val:0.###}/{Test:0.###}");
}
