using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FineTune.Config;

/// <summary>A config problem the user can fix; the message names the file, the line and the key path.</summary>
public sealed class ConfigException(string message) : FineTuneException(message);

/// <summary>
/// One YAML mapping being read into a record: every read names its key, so errors can say
/// "file:line: training.base_lr ...", and keys nobody read are reported as unknown.
/// </summary>
sealed class YamlSection
{
    readonly YamlMappingNode? _node;
    readonly string _file, _path;
    readonly int _line;
    readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public YamlSection(YamlMappingNode? node, string file, string path, int line)
    {
        _node = node; _file = file; _path = path; _line = line;
    }

    string KeyPath(string key) => _path.Length == 0 ? key : $"{_path}.{key}";

    public ConfigException Error(YamlNode? at, string key, string problem) =>
        new($"{_file}:{(at is null ? _line : (int)at.Start.Line)}: {KeyPath(key)} {problem}");

    /// <summary>An error placed on the line of <paramref name="key"/>'s value (the section's line when the key is absent).</summary>
    public ConfigException ErrorAtKey(string key, string problem) => Error(_node is null ? null : Find(key), key, problem);

    YamlNode? Find(string key)
    {
        _read.Add(key);
        if (_node is null) return null;
        foreach (var (k, v) in _node.Children)
            if (k is YamlScalarNode { Value: { } name } && name == key) return v;
        return null;
    }

    /// <summary>The scalar text of <paramref name="key"/>, or null when absent or written as null (~, empty).</summary>
    (string? Text, YamlNode? Node) Scalar(string key)
    {
        var node = Find(key);
        if (node is null) return (null, null);
        if (node is not YamlScalarNode scalar)
            throw Error(node, key, "must be a single value, not a list or a mapping.");
        var text = scalar.Value;
        if (scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && (text is null or "" or "~" or "null" or "Null" or "NULL")) return (null, node);
        return (text, node);
    }

    public YamlSection Section(string key)
    {
        var node = Find(key);
        if (node is null || node is YamlScalarNode { Value: null or "" or "~" or "null" })
            return new YamlSection(null, _file, KeyPath(key), node is null ? _line : (int)node.Start.Line);
        if (node is not YamlMappingNode map)
            throw Error(node, key, "must be a mapping of keys (an indented block).");
        return new YamlSection(map, _file, KeyPath(key), (int)map.Start.Line);
    }

    public string String(string key, string fallback)
    {
        var (text, node) = Scalar(key);
        if (text is null) return fallback;
        if (text.Trim().Length == 0) throw Error(node, key, "must not be empty.");
        return text.Trim();
    }

    public bool Bool(string key, bool fallback)
    {
        var (text, node) = Scalar(key);
        if (text is null) return fallback;
        // YAML 1.1 (PyYAML, which the seed uses) also reads yes/no/on/off as booleans.
        return text.Trim().ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw Error(node, key, $"must be true or false; got '{text}'."),
        };
    }

    /// <summary>A number; `1e-4` counts, which YAML 1.1 loaders read as a string and the seed converts with float().</summary>
    public double Double(string key, double fallback, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        var (text, node) = Scalar(key);
        if (text is null) return fallback;
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw Error(node, key, $"must be a number; got '{text}'.");
        bool low = minExclusive ? value <= min : value < min;
        bool high = maxExclusive ? value >= max : value > max;
        if (low || high)
            throw Error(node, key, $"must be in {(minExclusive ? "(" : "[")}{Fmt(min)}, {Fmt(max)}{(maxExclusive ? ")" : "]")}; got {text.Trim()}.");
        return value;
    }

    public int Int(string key, int fallback, int min, int max = int.MaxValue) => IntOrNull(key, min, max) ?? fallback;

    public int? IntOrNull(string key, int min, int max = int.MaxValue)
    {
        var (text, node) = Scalar(key);
        if (text is null) return null;
        var t = text.Trim();
        // Whole numbers written as 1e3 or 30.0 are accepted, as Python's int(float(x)) would.
        if (!long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d != Math.Floor(d) || Math.Abs(d) > int.MaxValue)
                throw Error(node, key, $"must be a whole number; got '{text}'.");
            value = (long)d;
        }
        if (value < min || value > max)
            throw Error(node, key, max == int.MaxValue ? $"must be at least {min}; got {t}." : $"must be between {min} and {max}; got {t}.");
        return (int)value;
    }

    public T Choice<T>(string key, T fallback, IReadOnlyDictionary<string, T> choices)
    {
        var (text, node) = Scalar(key);
        if (text is null) return fallback;
        return choices.TryGetValue(text.Trim().ToLowerInvariant(), out var v)
            ? v
            : throw Error(node, key, $"must be one of {string.Join(", ", choices.Keys)}; got '{text}'.");
    }

    /// <summary>Call after reading every key: a key nobody read is a typo or a key of another program.</summary>
    public void RejectUnknown()
    {
        if (_node is null) return;
        foreach (var (k, _) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? k.ToString();
            if (!_read.Contains(name))
                throw Error(k, name, $"is not a known key; known keys here: {string.Join(", ", _read)} (see docs/config.md).");
        }
    }

    static string Fmt(double v) => double.IsInfinity(v) ? "inf" : v.ToString("G", CultureInfo.InvariantCulture);
}
