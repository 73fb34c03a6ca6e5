using SkiaSharp;

namespace FineTune.Charts;

/// <summary>
/// The typeface charts write their text with. SkiaSharp's default typeface can be empty on a server without
/// fonts, and text drawn with it silently disappears, so a real font file is looked for: FINETUNE_FONT (a
/// .ttf/.otf path), then common sans families through the font manager, then the usual Debian files
/// (package fonts-dejavu-core). Without any, charts are still drawn, without text, and
/// <see cref="Warning"/> says how to get labels.
/// </summary>
public static class ChartFont
{
    public const string EnvironmentVariable = "FINETUNE_FONT";

    static readonly string[] Families = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "FreeSans"];

    static readonly string[] KnownFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/System/Library/Fonts/Helvetica.ttc",
        "C:\\Windows\\Fonts\\arial.ttf",
    ];

    static readonly Lazy<(SKTypeface? Typeface, string Source)> Resolved = new(Resolve);

    /// <summary>The typeface to use, or null when no font with glyphs was found.</summary>
    public static SKTypeface? Typeface => Resolved.Value.Typeface;

    /// <summary>Where the typeface came from (for diagnostics).</summary>
    public static string Source => Resolved.Value.Source;

    public static bool TextAvailable => Typeface is not null;

    public static string? Warning => TextAvailable
        ? null
        : $"no usable font found, so charts are drawn without text; install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) or set {EnvironmentVariable} to a .ttf file";

    /// <summary>The typeface in a font file when it can write chart text; null for a missing, unreadable or glyph-less file.</summary>
    public static SKTypeface? TryLoad(string path) => File.Exists(path) ? Usable(SafeFromFile(path)) : null;

    static (SKTypeface?, string) Resolve()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment) && TryLoad(fromEnvironment) is { } chosen)
            return (chosen, fromEnvironment);

        foreach (var family in Families)
            if (Usable(SafeMatchFamily(family)) is { } match && match.FamilyName == family)
                return (match, $"font family {family}");

        foreach (var file in KnownFiles)
            if (TryLoad(file) is { } fromFile)
                return (fromFile, file);

        if (Usable(SKTypeface.Default) is { } fallback) return (fallback, $"SkiaSharp default ({fallback.FamilyName})");
        return (null, "none");
    }

    // A typeface is usable when it has glyphs for the characters charts write (an empty default has none).
    static SKTypeface? Usable(SKTypeface? typeface) =>
        typeface is not null && typeface.GlyphCount > 0 && typeface.ContainsGlyphs("Epoch 0123456789%.") ? typeface : null;

    static SKTypeface? SafeFromFile(string path)
    {
        try { return SKTypeface.FromFile(path); }
        catch (Exception e) when (e is IOException or ArgumentException) { return null; }
    }

    static SKTypeface? SafeMatchFamily(string family)
    {
        try { return SKFontManager.Default.MatchFamily(family); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException) { return null; }
    }
}
