using System.Globalization;
using System.Text;

namespace FineTune.Config;

/// <summary>
/// Writes a config back as YAML with every key resolved (defaults filled in), in the seed's layout (the order of <see cref="ConfigKeys.All"/>).
/// `finetune train --dry-run` prints it, and checkpoints store it, so a run can always be reproduced.
/// </summary>
public static class ConfigPrinter
{
    public static string ToYaml(FineTuneConfig c)
    {
        var sb = new StringBuilder();
        foreach (var section in ConfigKeys.Sections)
        {
            int depth = section.Count(ch => ch == '.');
            if (depth == 0 && sb.Length > 0) sb.Append('\n'); // a blank line between top-level sections
            sb.Append(' ', 2 * depth).Append(section[(section.LastIndexOf('.') + 1)..]).Append(":\n");
            foreach (var key in ConfigKeys.In(section))
            {
                sb.Append(' ', 2 * (depth + 1)).Append(key.Name).Append(": ").Append(Format(key.Value(c)));
                if (key.Note(c) is { } note) sb.Append("  # ").Append(note);
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    public static string SchedulerName(SchedulerKind kind) => ConfigKeys.SchedulerName(kind);

    /// <summary>A value as this printer writes it (docs/config.md's defaults use it too).</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e"),
        int i => i.ToString(CultureInfo.InvariantCulture),
        string s => Quoted(s) ? "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"" : s,
        _ => value.ToString() ?? "",
    };

    /// <summary>Plain words and paths print bare; anything YAML could read as another type or as syntax is quoted.</summary>
    static bool Quoted(string s) =>
        s.Length == 0 || !s.All(ch => char.IsLetterOrDigit(ch) || ch is '_' or '-' or '.' or '/') || !char.IsLetter(s[0]) && s[0] is not ('.' or '/' or '_')
        || s.ToLowerInvariant() is "true" or "false" or "yes" or "no" or "on" or "off" or "null" or "y" or "n";
}
