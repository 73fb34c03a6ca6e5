namespace FineTune.Cli.Parsing;

/// <summary>
/// One option of a command as `--help` shows it. <see cref="Name"/> is the spelling shown (`dry-run`, `model_path`);
/// <see cref="Key"/> is what the command reads (`'-'` and `'_'` are the same in option names, as in the seed).
/// A flag has no <see cref="Value"/>: it is present or not and never takes the next argument.
/// </summary>
public sealed record OptionSpec(string Name, string? Value, string Description, bool Required = false)
{
    public string Key => Normalize(Name);
    public bool IsFlag => Value is null;

    /// <summary>`--dry-run` and `--dry_run` are one option.</summary>
    public static string Normalize(string name) => name.Replace('-', '_');

    /// <summary>`--config F` or `--dry-run`: the left column of the help.</summary>
    public string Usage => IsFlag ? $"--{Name}" : $"--{Name} {Value}";
}
