using FineTune.Cli;
using FineTune.Cli.Parsing;
using Xunit;

namespace FineTune.Tests.Cli.Parsing;

/// <summary>The seed's option syntax, kept under the catalog, and what the catalog adds: no option read without being declared.</summary>
public class CommandLineTests
{
    [Fact]
    public void Seed_syntax_reads_pairs_equals_flags_and_positionals()
    {
        var cl = new CommandLine(["--model_path", "m.ckpt", "a.jpg", "--topk=3", "--json", "b-c.jpg", "--batch-size", "8"], CommandCatalog.Predict);
        Assert.Equal("m.ckpt", cl.Get("model_path"));
        Assert.Equal(3, cl.GetInt("topk", 5));
        Assert.True(cl.Flag("json"));
        Assert.Equal(8, cl.GetInt("batch_size", 16));
        Assert.Null(cl.Get("gpu"));
        Assert.Equal(["a.jpg", "b-c.jpg"], cl.Positionals);
        cl.Get("precision");
        cl.RejectUnknown("predict");
    }

    [Theory]
    [InlineData("--dry-run")]
    [InlineData("--dry_run")]
    public void Dash_and_underscore_are_one_option(string spelling)
    {
        var cl = new CommandLine(["--config", "a.yaml", spelling], CommandCatalog.Train);
        Assert.True(cl.Flag("dry_run"));
        Assert.True(cl.Flag("dry-run"));
        Assert.Equal("a.yaml", cl.Get("config"));
    }

    [Fact]
    public void The_last_of_a_repeated_option_wins_and_a_value_after_equals_is_kept_as_typed()
    {
        // train.sh passes its own --experiment_name before "$@": a user's one comes later and wins.
        var cl = new CommandLine(["--experiment_name", "a", "--config=configs/my-run.yaml", "--experiment_name", "b"], CommandCatalog.Train);
        Assert.Equal("b", cl.Get("experiment_name"));
        Assert.Equal("configs/my-run.yaml", cl.Get("config"));
    }

    [Fact]
    public void An_option_without_its_value_is_a_usage_error()
    {
        var e = Assert.Throws<UsageException>(() => new CommandLine(["--config"], CommandCatalog.Train));
        Assert.Equal("Option --config needs a value.", e.Message);
    }

    [Fact]
    public void Reading_an_undeclared_option_is_a_programming_error_not_a_usage_error()
    {
        var cl = new CommandLine(["--config", "a.yaml"], CommandCatalog.Train);
        var e = Assert.Throws<InvalidOperationException>(() => cl.Get("confg"));
        Assert.Contains("--confg", e.Message);
        Assert.Contains("CommandCatalog.cs", e.Message);
        // Read as the wrong kind: a flag never takes a value, so the two would parse the next argument differently.
        Assert.Throws<InvalidOperationException>(() => cl.Flag("config"));
        Assert.Throws<InvalidOperationException>(() => cl.Get("dry_run"));
    }

    [Fact]
    public void A_declared_option_the_command_did_not_read_is_still_refused()
    {
        var cl = new CommandLine(["--config", "a.yaml", "--gpu", "0"], CommandCatalog.Train);
        cl.Get("config");
        var e = Assert.Throws<UsageException>(() => cl.RejectUnknown("train"));
        Assert.StartsWith("Unknown option --gpu for `finetune train`", e.Message);
    }

    [Fact]
    public void Without_a_catalog_entry_the_names_read_so_far_are_suggested()
    {
        var cl = new CommandLine(["--stesp", "3"], new HashSet<string>());
        cl.GetInt("steps", 1);
        var e = Assert.Throws<UsageException>(() => cl.RejectUnknown("ddp-bench"));
        Assert.Equal("Unknown option --stesp for `finetune ddp-bench`; did you mean --steps?", e.Message);
    }
}
