using FineTune.Cli.Parsing;
using Xunit;

namespace FineTune.Tests.Cli.Parsing;

/// <summary>A mistyped option or command ends in one line that names the nearest known one, through the real program.</summary>
public class SuggestionTests
{
    static readonly string WorkDir = Path.GetTempPath();

    [Theory]
    [InlineData("Unknown option --confg for `finetune train`; did you mean --config?", "train", "--confg", "configs/resnet18_finetune.yaml")]
    [InlineData("Unknown option --dry_rn for `finetune train`; did you mean --dry-run?", "train", "--config", "a.yaml", "--dry-rn")]
    [InlineData("Unknown option --modelpath for `finetune export`; did you mean --model_path?", "export", "--modelpath", "m.ckpt")]
    [InlineData("Unknown option --topx for `finetune predict`; did you mean --topk?", "predict", "--model_path", "m.ckpt", "--topx", "3", "a.jpg")]
    [InlineData("Unknown option --stesp for `finetune bench`; did you mean --steps?", "bench", "--stesp", "3")]
    [InlineData("Unknown option --per_clas for `finetune data synth`; did you mean --per-class?", "data", "synth", "--out", "/tmp/never", "--per-clas", "3")]
    [InlineData("Unknown option --banana for `finetune train`; run `finetune train --help` for the options.", "train", "--banana", "1")]
    [InlineData("unknown command 'trian'; did you mean `finetune train`?", "trian")]
    [InlineData("unknown command 'frobnicate'; run `finetune help` for the list.", "frobnicate")]
    public void A_typo_gets_one_line_with_the_nearest_name(string message, params string[] args)
    {
        var result = FinetuneProgram.Run(WorkDir, args);
        Assert.Equal(2, result.Code);
        Assert.Empty(result.Out);
        Assert.Equal($"finetune: {message}", result.Err.TrimEnd('\n'));
    }

    [Theory]
    [InlineData("confg", "config")]
    [InlineData("stesp", "steps")]     // two letters swapped: one edit
    [InlineData("epoch", "epochs")]
    [InlineData("model_pth", "model_path")]
    [InlineData("colour", null)]       // nothing close: no guess
    [InlineData("x", null)]
    public void The_nearest_name_is_a_likely_typo_or_none(string typed, string? expected)
    {
        string[] known = ["config", "steps", "epochs", "model_path", "classes", "out", "size"];
        Assert.Equal(expected, NearestName.Find(typed, known));
    }
}
