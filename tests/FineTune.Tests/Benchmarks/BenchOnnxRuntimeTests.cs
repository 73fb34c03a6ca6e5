using FineTune.Tests.Cli;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Benchmarks;

/// <summary>`finetune bench` prints ONNX Runtime's evaluation rate of the exported graph beside ours (a figure, not asserted on).</summary>
public class BenchOnnxRuntimeTests
{
    static readonly string[] TinyBench = ["bench", "--models", "resnet18", "--mode", "eval", "--batch", "2", "--size", "32", "--warmup", "0", "--steps", "2", "--threads", "1", "--no-reference"];

    [Fact]
    public void Eval_rows_get_an_onnx_runtime_row_with_a_ratio()
    {
        var result = FinetuneProgram.Run(Tiny.TempFolder(), TinyBench).Succeeded();
        Assert.Matches(@"(?m)^Our evaluation rows ran on \(--eval-engine auto\): resnet18 fp32: ONNX Runtime 1\.\d+\.\d+\.$", result.Out);
        Assert.Matches(@"(?m)^ONNX Runtime 1\.\d+\.\d+ \(CPU provider, 1 intra-op threads", result.Out);
        // img/s of both and the ratio | img/CPU-s of both and the ratio | GFLOP/s of both with their share of the measured peak
        Assert.Matches(@"(?m)^resnet18\s+eval\s+\|\s+[\d.]+ \(±\d+%\)\s+[\d.]+ \(±\d+%\)\s+[\d.]+x \|\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+\|\s+[\d.]+ \(\d+%\)\s+[\d.]+ \(\d+%\)$", result.Out);
    }

    [Fact]
    public void Eval_engine_torch_runs_our_rows_in_libtorch()
    {
        var result = FinetuneProgram.Run(Tiny.TempFolder(), [.. TinyBench, "--no-onnx", "--eval-engine", "torch"]).Succeeded();
        Assert.Matches(@"(?m)^Our evaluation rows ran on \(--eval-engine torch\): resnet18 fp32: libtorch\.$", result.Out);
    }

    [Fact]
    public void No_onnx_leaves_it_out()
    {
        var result = FinetuneProgram.Run(Tiny.TempFolder(), [.. TinyBench, "--no-onnx"]).Succeeded();
        // No comparison table (our own rows still say they ran on ONNX Runtime, FineTune's evaluation engine).
        Assert.DoesNotMatch(@"(?m)^ONNX Runtime 1\.\d+\.\d+ \(CPU provider", result.Out);
        Assert.DoesNotContain("ratio = ours / ONNX Runtime", result.Out);
    }
}
