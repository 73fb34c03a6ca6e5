namespace FineTune.Cli;

/// <summary>A user error on the command line; printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The seed's style of options (--config F --experiment_name N --gpu 0 --distributed): `--name value`
/// pairs, bare flags, and positional arguments. Small on purpose: every command reads what it needs.
/// </summary>
public sealed class CommandLine
{
    readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    readonly HashSet<string> _read = new(StringComparer.Ordinal);
    public List<string> Positionals { get; } = [];

    public CommandLine(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) { Positionals.Add(a); continue; }
            var name = a[2..].Replace('-', '_');
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (!flags.Contains(name))
            {
                if (i + 1 >= list.Count) throw new UsageException($"Option --{name} needs a value.");
                value = list[++i];
            }
            _options[name] = value;
        }
    }

    public string? Get(string name) { _read.Add(name); return _options.GetValueOrDefault(name); }
    public string Require(string name, string hint) => Get(name) ?? throw new UsageException($"Missing --{name}: {hint}.");
    public bool Flag(string name) { _read.Add(name); return _options.ContainsKey(name); }

    public int GetInt(string name, int fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        return int.TryParse(v, out var n) ? n : throw new UsageException($"--{name} expects a whole number; got '{v}'.");
    }

    /// <summary>Call after reading every option: an option nobody read is a typo the user should hear about.</summary>
    public void RejectUnknown(string command)
    {
        var unknown = _options.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"Unknown option --{unknown[0]} for `finetune {command}`; run `finetune help` for the options.");
    }
}
