using System.Globalization;
using System.Net;

namespace FineTune.Reports;

/// <summary>Escaping and number formats for the report's HTML: every name and path from the user's disk goes through <see cref="Escape"/>.</summary>
static class Html
{
    /// <summary>Safe in text and in quoted attributes: a class folder may be named <c>&lt;script&gt;</c>.</summary>
    public static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static string Percent(double fraction, int decimals = 1) =>
        (100 * fraction).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";

    public static string Fixed(double value, int decimals) => value.ToString("F" + decimals, CultureInfo.InvariantCulture);

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A number for a data- attribute that the page's script sorts on: invariant, round-trippable.</summary>
    public static string Data(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Seconds(double seconds) => seconds < 120
        ? seconds.ToString("F1", CultureInfo.InvariantCulture) + " s"
        : TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds < 3600 ? @"m\:ss" : @"h\:mm\:ss", CultureInfo.InvariantCulture) + (seconds < 3600 ? " min" : " h");
}
