using System.Text;

namespace FineTune.Cli.Parsing;

/// <summary>The text of `finetune help` and of `finetune COMMAND --help`, written from <see cref="CommandCatalog"/>.</summary>
public static class HelpText
{
    /// <summary>`finetune help`: the commands a user runs (hidden ones left out), one line each.</summary>
    public static string CommandList()
    {
        var text = new StringBuilder("usage: finetune <command> [options]\n\ncommands:\n");
        foreach (var c in CommandCatalog.Commands.Where(c => !c.Hidden)) text.Append($"  {c.Name,-12} {c.Summary}\n");
        text.Append("\nRun `finetune <command> --help` for its options and an example.\n");
        return text.ToString();
    }

    /// <summary>`finetune COMMAND --help`: usage, one line per option (or per sub-command), examples.</summary>
    public static string For(CommandSpec command)
    {
        var text = new StringBuilder($"finetune {command.Name}: {command.Summary}\n\nusage: {command.UsageLine()}\n");
        if (command.Subcommands.Count > 0)
        {
            var rows = command.Subcommands.Select(s => (Left: s.Name[(command.Name.Length + 1)..], Right: s.Summary)).ToList();
            AppendTable(text, "sub-commands", rows);
        }
        else
        {
            var rows = command.Options.Select(o => (Left: o.Usage, Right: o.Required ? o.Description + " (required)" : o.Description)).ToList();
            rows.Add(("--help", "this text"));
            AppendTable(text, "options", rows);
        }
        text.Append(command.Examples.Count == 1 ? "\nexample:\n" : "\nexamples:\n");
        foreach (var e in command.Examples) text.Append($"  {e}\n");
        if (command.Subcommands.Count > 0)
            text.Append($"\nRun `finetune {command.Name} <sub-command> --help` for its options and an example.\n");
        if (command.Options.Count > 0)
            text.Append("\n'-' and '_' are the same in option names (--dry-run, --dry_run); a value follows a space or '='.\n");
        return text.ToString();
    }

    static void AppendTable(StringBuilder text, string title, List<(string Left, string Right)> rows)
    {
        int width = rows.Max(r => r.Left.Length) + 2;
        text.Append($"\n{title}:\n");
        foreach (var (left, right) in rows) text.Append($"  {left.PadRight(width)}{right}\n");
    }
}
