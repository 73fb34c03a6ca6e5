namespace FineTune.Data;

/// <summary>
/// A tiny PRNG with a fixed, documented algorithm (Steele et al. 2014): unlike System.Random its sequence
/// is the same on every runtime and machine, so a seed names one split and one augmentation forever.
/// </summary>
public struct SplitMix64(ulong seed)
{
    ulong _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, n) without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong bound = (ulong)n, threshold = (0UL - bound) % bound;
        while (true)
        {
            var r = NextUInt64();
            var high = Math.BigMul(r, bound, out var low);
            if (low >= threshold) return (int)high;
        }
    }

    /// <summary>Fisher-Yates, in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>One seed from several integers (seed, epoch, index...): each is mixed in, so nearby tuples give unrelated streams.</summary>
    public static ulong Mix(params ReadOnlySpan<long> parts)
    {
        var g = new SplitMix64(0x5EED_F1E7_0000_0001UL);
        ulong h = g.NextUInt64();
        foreach (var p in parts)
        {
            var m = new SplitMix64(h ^ (ulong)p);
            h = m.NextUInt64();
        }
        return h;
    }

    /// <summary>A stable 64-bit hash of a string (FNV-1a over UTF-16), for mixing names such as class names into seeds.</summary>
    public static long StableHash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var c in s) { h ^= c; h *= 1099511628211UL; }
        return (long)h;
    }
}
