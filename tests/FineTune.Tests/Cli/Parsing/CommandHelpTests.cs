using System.Text.RegularExpressions;
using FineTune.Cli.Parsing;
using Xunit;

namespace FineTune.Tests.Cli.Parsing;

/// <summary>`finetune COMMAND --help` and `finetune help`, run as the real program, against the catalog they are written from.</summary>
public class CommandHelpTests
{
    static readonly string WorkDir = Path.GetTempPath();

    /// <summary>Every command and sub-command, hidden ones too (their --help works, they are only left out of the list).</summary>
    public static TheoryData<string> AllCommands()
    {
        var data = new TheoryData<string>();
        foreach (var c in CommandCatalog.Commands)
        {
            data.Add(c.Name);
            foreach (var s in c.Subcommands) data.Add(s.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCommands))]
    public void Help_lists_every_declared_option_on_its_own_line_and_an_example(string name)
    {
        var spec = CommandCatalog.Get(name);
        var result = FinetuneProgram.Run(WorkDir, [.. name.Split(' '), "--help"]).Succeeded();
        Assert.Empty(result.Err);
        Assert.StartsWith($"finetune {name}: {spec.Summary}", result.Out);
        Assert.Contains("usage: finetune " + name, result.Out);
        foreach (var option in spec.Options)
        {
            // One line: the option (with its value name), then its description, nothing wrapped onto the next line.
            var line = new Regex($"^  {Regex.Escape(option.Usage)} +{Regex.Escape(option.Description)}( \\(required\\))?$", RegexOptions.Multiline);
            Assert.Matches(line, result.Out);
        }
        foreach (var sub in spec.Subcommands)
            Assert.Matches(new Regex($"^  {sub.Name.Split(' ')[1]} +{Regex.Escape(sub.Summary)}$", RegexOptions.Multiline), result.Out);
        Assert.NotEmpty(spec.Examples);
        foreach (var example in spec.Examples) Assert.Contains("  " + example + "\n", result.Out);
    }

    [Fact]
    public void Short_h_and_help_topic_give_the_same_text_as_dash_dash_help()
    {
        var help = FinetuneProgram.Run(WorkDir, "train", "--help").Succeeded().Out;
        Assert.Equal(help, FinetuneProgram.Run(WorkDir, "train", "-h").Succeeded().Out);
        Assert.Equal(help, FinetuneProgram.Run(WorkDir, "help", "train").Succeeded().Out);
        // Wherever --help stands among the other options, and for a group's sub-command.
        Assert.Equal(help, FinetuneProgram.Run(WorkDir, "train", "--config", "missing.yaml", "--help").Succeeded().Out);
        Assert.Equal(FinetuneProgram.Run(WorkDir, "data", "synth", "--help").Succeeded().Out,
                     FinetuneProgram.Run(WorkDir, "help", "data", "synth").Succeeded().Out);
    }

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    [InlineData("-h")]
    public void The_command_list_shows_the_commands_users_run_and_hides_the_harnesses(string help)
    {
        var result = FinetuneProgram.Run(WorkDir, help).Succeeded();
        foreach (var c in CommandCatalog.Commands)
        {
            var row = new Regex($"^  {Regex.Escape(c.Name)} +{Regex.Escape(c.Summary)}$", RegexOptions.Multiline);
            if (c.Hidden) Assert.DoesNotMatch(row, result.Out);
            else Assert.Matches(row, result.Out);
        }
        Assert.DoesNotContain("ddp-selftest", result.Out);
        Assert.DoesNotContain("kernel-probe", result.Out);
        Assert.Contains("finetune <command> --help", result.Out);
    }

    [Fact]
    public void No_command_prints_the_list_and_fails()
    {
        var result = FinetuneProgram.Run(WorkDir);
        Assert.Equal(2, result.Code);
        Assert.Contains("usage: finetune <command> [options]", result.Out);
    }
}
