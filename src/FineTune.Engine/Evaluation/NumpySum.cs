namespace FineTune.Evaluation;

/// <summary>
/// numpy's float64 sum (pairwise summation, blocks of 128 unrolled by 8), reproduced operation for operation.
/// A plain left-to-right sum can differ in the last bit, and a report rounded to 2 or 4 digits can then
/// differ from scikit-learn's when a value lies on a rounding boundary.
/// </summary>
static class NumpySum
{
    const int BlockSize = 128;

    public static double Sum(ReadOnlySpan<double> values) => Pairwise(values);

    /// <summary><c>np.mean</c>.</summary>
    public static double Mean(ReadOnlySpan<double> values) => Sum(values) / values.Length;

    /// <summary><c>np.average(values, weights=weights)</c> with integer weights.</summary>
    public static double WeightedAverage(ReadOnlySpan<double> values, ReadOnlySpan<int> weights)
    {
        var products = new double[values.Length];
        var floatWeights = new double[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            floatWeights[i] = weights[i];
            products[i] = values[i] * floatWeights[i];
        }
        return Sum(products) / Sum(floatWeights);
    }

    static double Pairwise(ReadOnlySpan<double> a)
    {
        var n = a.Length;
        if (n < 8)
        {
            var sum = 0.0;
            foreach (var x in a) sum += x;
            return sum;
        }
        if (n <= BlockSize)
        {
            Span<double> r = stackalloc double[8];
            a[..8].CopyTo(r);
            var i = 8;
            for (; i < n - n % 8; i += 8)
                for (var j = 0; j < 8; j++) r[j] += a[i + j];
            var result = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) result += a[i];
            return result;
        }
        var half = n / 2;
        half -= half % 8;
        return Pairwise(a[..half]) + Pairwise(a[half..]);
    }
}
