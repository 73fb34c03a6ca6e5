using FineTune.Cli.Parsing;

namespace FineTune.Cli;

/// <summary>A user error on the command line; printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : FineTuneException(message, ExitCodes.Usage);

/// <summary>
/// The seed's style of options (--config F --experiment_name N --gpu 0 --distributed): `--name value` or
/// `--name=value` pairs, bare flags, and positional arguments; `-` and `_` are the same in a name, and the last
/// of a repeated option wins. Every command reads what it needs.
/// Parsed against its command's <see cref="CommandSpec"/> (the catalog entry that `--help` prints), an
/// undeclared option is refused at once with the nearest declared one suggested, and a command reading an
/// option its entry does not declare is a programming error (it throws, so the tests that run it fail).
/// </summary>
public sealed class CommandLine
{
    readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    readonly HashSet<string> _read = new(StringComparer.Ordinal);
    readonly CommandSpec? _spec;
    public List<string> Positionals { get; } = [];

    /// <summary>Checked against the command's catalog entry: the form `finetune` itself uses.</summary>
    public CommandLine(IEnumerable<string> args, CommandSpec spec) : this(args, spec.Flags, spec) { }

    /// <summary>Without a catalog entry (callers composing their own argument list): only <paramref name="flags"/> are known.</summary>
    public CommandLine(IEnumerable<string> args, IReadOnlySet<string> flags) : this(args, flags, null) { }

    CommandLine(IEnumerable<string> args, IReadOnlySet<string> flags, CommandSpec? spec)
    {
        _spec = spec;
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) { Positionals.Add(a); continue; }
            var name = a[2..].Replace('-', '_');
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0) { value = a[(2 + eq + 1)..]; name = name[..eq]; }
            // Before asking for a value: `--dry-rn` at the end is a typo of a flag, not an option missing its value.
            if (spec is not null && spec.Find(name) is null) throw Unknown(name, spec.Name);
            if (eq < 0 && !flags.Contains(name))
            {
                if (i + 1 >= list.Count) throw new UsageException($"Option --{name} needs a value.");
                value = list[++i];
            }
            _options[name] = value;
        }
    }

    public string? Get(string name)
    {
        name = OptionSpec.Normalize(name);
        Declared(name, flag: false);
        _read.Add(name);
        return _options.GetValueOrDefault(name);
    }

    public string Require(string name, string hint) => Get(name) ?? throw new UsageException($"Missing --{name}: {hint}.");

    public bool Flag(string name)
    {
        name = OptionSpec.Normalize(name);
        Declared(name, flag: true);
        _read.Add(name);
        return _options.ContainsKey(name);
    }

    public int GetInt(string name, int fallback) => GetInt(name) ?? fallback;

    /// <summary>A whole-number option, or null when it was not given (where "not given" differs from any default).</summary>
    public int? GetInt(string name)
    {
        var v = Get(name);
        if (v is null) return null;
        return int.TryParse(v, out var n) ? n : throw new UsageException($"--{name} expects a whole number; got '{v}'.");
    }

    /// <summary>Call after reading every option: an option nobody read is a typo the user should hear about.</summary>
    public void RejectUnknown(string command)
    {
        var unknown = _options.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw Unknown(unknown[0], command);
    }

    UsageException Unknown(string name, string command)
    {
        // The catalog's names when there is one; otherwise the names this command has read so far.
        var known = _spec?.Options.Select(o => o.Name) ?? _read;
        var nearest = NearestName.Find(name, known.Select(k => OptionSpec.Normalize(k)).Distinct());
        var shown = nearest is null ? null : _spec?.Find(nearest)?.Name ?? nearest;
        return new UsageException(shown is not null
            ? $"Unknown option --{name} for `finetune {command}`; did you mean --{shown}?"
            : $"Unknown option --{name} for `finetune {command}`; run `finetune {command} --help` for the options.");
    }

    /// <summary>Reading an option the catalog does not declare (or as the wrong kind) is a bug in the command, not a user error.</summary>
    void Declared(string name, bool flag)
    {
        if (_spec is null) return;
        var option = _spec.Find(name) ?? throw new InvalidOperationException(
            $"`finetune {_spec.Name}` reads --{name}, which its entry in src/FineTune.Cli/Parsing/CommandCatalog.cs does not declare: add it there with its one-line help.");
        if (option.IsFlag != flag)
            throw new InvalidOperationException(
                $"`finetune {_spec.Name}` reads --{name} as {(flag ? "a flag" : "an option with a value")}, but CommandCatalog.cs declares it as {(option.IsFlag ? "a flag" : "an option with a value")}.");
    }
}
