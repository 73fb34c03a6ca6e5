namespace FineTune.Cli.Parsing;

/// <summary>
/// What `finetune NAME --help` says about a command: its options, what it takes besides them, and examples.
/// The parser reads it too, so an option cannot be accepted without being documented, nor documented without
/// being accepted. A group (`data`) has sub-commands instead of options.
/// </summary>
public sealed record CommandSpec(string Name, string Summary, IReadOnlyList<OptionSpec> Options, IReadOnlyList<string> Examples)
{
    /// <summary>What the command takes besides options, as the usage line shows it (`IMAGE|FOLDER...`), if anything.</summary>
    public string? Positionals { get; init; }

    /// <summary>Not listed by `finetune help` (test harnesses, child processes); its `--help` still works.</summary>
    public bool Hidden { get; init; }

    public IReadOnlyList<CommandSpec> Subcommands { get; init; } = [];

    public IReadOnlySet<string> Flags => _flags ??= Options.Where(o => o.IsFlag).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
    IReadOnlySet<string>? _flags;

    /// <summary>The option read as <paramref name="key"/> (`dry_run` or `dry-run`), or null when not declared.</summary>
    public OptionSpec? Find(string key)
    {
        var normal = OptionSpec.Normalize(key);
        return Options.FirstOrDefault(o => o.Key == normal);
    }

    public CommandSpec? Subcommand(string name) => Subcommands.FirstOrDefault(s => s.Name == $"{Name} {name}");

    /// <summary>`finetune train --config F [options]`: required options spelled out, the rest left to the list.</summary>
    public string UsageLine()
    {
        if (Subcommands.Count > 0) return $"finetune {Name} <{string.Join('|', Subcommands.Select(s => s.Name[(Name.Length + 1)..]))}> [options]";
        var parts = new List<string> { $"finetune {Name}" };
        parts.AddRange(Options.Where(o => o.Required).Select(o => o.Usage));
        if (Options.Any(o => !o.Required)) parts.Add("[options]");
        if (Positionals is not null) parts.Add(Positionals);
        return string.Join(' ', parts);
    }
}
