using System.Globalization;
using FineTune.Benchmarks;

namespace FineTune.Cli.Commands;

/// <summary>
/// The ONNX Runtime rows of `finetune bench`: evaluation images/s of the exported graph beside ours for each model,
/// measured after the main table on the same batch, size and thread count. Skipped end to end (--data_dir) and with --no_onnx.
/// </summary>
static class BenchOnnxRuntime
{
    public static void Print(IEnumerable<(string Model, ThroughputResult Ours)> evalRows, BenchmarkSettings settings, int rounds, double peak)
    {
        var rows = evalRows.ToList();
        if (rows.Count == 0) return;
        Console.WriteLine();
        Console.WriteLine($"ONNX Runtime {OnnxRuntimeThroughput.Version} (CPU provider, {settings.EffectiveThreads} intra-op threads, all graph optimisations), "
                          + "eval of the file `finetune export --format onnx` writes (preprocessing inside), same batch and size:");
        Console.WriteLine($"{"model",-10} {"mode",-5} | {"ours img/s",14} {"ORT img/s",14} {"ratio",6} | {"ours",6} {"ORT",6} {"ratio",6} img/CPU-s | {"ours GFLOP/s",14} {"ORT GFLOP/s",14} (share of peak)");
        foreach (var (model, ours) in rows)
        {
            ThroughputResult? ort = null;
            for (int round = 0; round < rounds; round++)
            {
                Console.Error.WriteLine($"  measuring ONNX Runtime {model} eval{(rounds > 1 ? $" (round {round + 1}/{rounds})" : "")}");
                var now = OnnxRuntimeThroughput.Measure(model, settings);
                ort = ort is null ? now : ort with { Times = ort.Times.Concat(now.Times) };
            }
            double perImage = FlopCount.PerImage(Models.ModelFactory.ArchitectureOf(model), settings.Size, settings.Classes, BenchmarkMode.Eval);
            double oursPerCpu = ours.Times.ImagesPerCpuSecond(ours.Batch), ortPerCpu = ort!.Times.ImagesPerCpuSecond(ort.Batch);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{model,-10} {"eval",-5} | {Rate(ours),14} {Rate(ort),14} {ours.ImagesPerSecond / ort.ImagesPerSecond,5:0.00}x | "
                + $"{oursPerCpu,6:0.0} {ortPerCpu,6:0.0} {oursPerCpu / ortPerCpu,5:0.00}x           | "
                + $"{BenchCommand.Achieved(perImage, ours, peak),14} {BenchCommand.Achieved(perImage, ort, peak),14}"));
        }
        Console.WriteLine("ratio = ours / ONNX Runtime (above 1: ours is faster).");
    }

    static string Rate(ThroughputResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.ImagesPerSecond:0.0} (±{r.Times.RelativeSpread * 100:0}%)");
}
