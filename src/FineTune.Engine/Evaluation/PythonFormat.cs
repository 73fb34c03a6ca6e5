using System.Globalization;
using System.Numerics;
using System.Text;

namespace FineTune.Evaluation;

/// <summary>
/// Python's string formatting of numbers, as scikit-learn's reports use it. .NET's "F2" rounds a decimal
/// midpoint away from zero (0.125 -> "0.13"); Python rounds the exact binary value half to even
/// (0.125 -> "0.12"), so a byte-for-byte report needs Python's rule.
/// </summary>
public static class PythonFormat
{
    /// <summary>Python's <c>format(value, ".{digits}f")</c>.</summary>
    public static string Fixed(double value, int digits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digits);
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";

        var negative = double.IsNegative(value);
        var (mantissa, exponent) = Decompose(Math.Abs(value));
        var scaled = mantissa * BigInteger.Pow(10, digits);
        BigInteger rounded;
        if (exponent >= 0)
        {
            rounded = scaled << exponent;
        }
        else
        {
            var denominator = BigInteger.One << -exponent;
            rounded = BigInteger.DivRem(scaled, denominator, out var remainder);
            var twice = remainder * 2;
            if (twice > denominator || (twice == denominator && !rounded.IsEven)) rounded += 1;
        }

        var text = rounded.ToString(CultureInfo.InvariantCulture).PadLeft(digits + 1, '0');
        var result = new StringBuilder();
        if (negative) result.Append('-');
        result.Append(text, 0, text.Length - digits);
        if (digits > 0) result.Append('.').Append(text, text.Length - digits, digits);
        return result.ToString();
    }

    /// <summary>Python's <c>format(text, "&gt;{width}")</c>: pads to a width counted in code points, as Python's len does.</summary>
    public static string RightAlign(string text, int width)
    {
        var length = CodePointLength(text);
        return length >= width ? text : new string(' ', width - length) + text;
    }

    public static int CodePointLength(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes()) count++;
        return count;
    }

    /// <summary>value = mantissa * 2^exponent, exactly.</summary>
    static (BigInteger Mantissa, int Exponent) Decompose(double value)
    {
        var bits = BitConverter.DoubleToInt64Bits(value);
        var rawExponent = (int)((bits >> 52) & 0x7FF);
        var fraction = bits & 0xF_FFFF_FFFF_FFFFL;
        return rawExponent == 0
            ? (new BigInteger(fraction), -1074)
            : (new BigInteger(fraction | (1L << 52)), rawExponent - 1075);
    }
}
