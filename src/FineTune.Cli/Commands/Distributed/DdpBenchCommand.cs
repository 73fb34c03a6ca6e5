using System.Diagnostics;
using FineTune.Distributed;
using FineTune.Models;
using FineTune.Native;
using FineTune.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Cli.Commands.Distributed;

/// <summary>
/// `finetune ddp-bench` (hidden): training throughput of data-parallel SGD (the trainer's <see cref="TrainingStep"/>) at a fixed global batch, e.g.
/// `finetune ddp-bench --threads 2` against `mpirun -np 2 finetune ddp-bench --threads 1`, and the
/// gradient all-reduce time per step. Synthetic inputs, so only compute and communication are measured.
/// </summary>
public static class DdpBenchCommand
{
    public static int Run(CommandLine cl)
    {
        var backbone = cl.Get("backbone") ?? "resnet18";
        int size = cl.GetInt("size", 224);
        int globalBatch = cl.GetInt("global_batch", 16);
        int steps = cl.GetInt("steps", 5);
        int warmup = cl.GetInt("warmup", 1);
        int threads = cl.GetInt("threads", 1);
        cl.RejectUnknown("ddp-bench");
        if (steps < 1 || warmup < 0 || threads < 1) throw new UsageException("--steps and --threads must be at least 1, --warmup at least 0.");

        TorchNative.EnsureLoaded();
        torch.set_num_threads(threads);
        using var dist = DistributedContext.Create(distributed: true);
        if (globalBatch % dist.WorldSize != 0)
            throw new UsageException($"--global-batch {globalBatch} does not split evenly over {dist.WorldSize} ranks: choose a multiple of {dist.WorldSize}.");
        int batch = globalBatch / dist.WorldSize;

        torch.manual_seed(1);
        using var model = ModelFactory.Create(backbone, 101);
        dist.BroadcastState(model);
        model.train();
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        using var x = randn(batch, 3, size, size);
        using var y = randint(0, 101, [batch]);

        // The all-reduce of a rank includes waiting for the slowest rank to finish backward; a barrier
        // just before it separates that wait (load imbalance, noisy neighbours) from the transfer itself.
        double reduceSeconds = 0, mpiSeconds = 0, waitSeconds = 0, before = 0;
        bool timed = false;
        var wait = new Stopwatch();
        var watch = new Stopwatch();
        var trainingStep = new TrainingStep(model, optimizer, dist) // the trainer's step, timed between backward and the average
        {
            GradientsComputed = () =>
            {
                wait.Restart();
                dist.Barrier();
                if (timed) waitSeconds += wait.Elapsed.TotalSeconds;
                before = dist.Comm.CommunicationSeconds;
            },
        };
        for (int step = 0; step < warmup + steps; step++)
        {
            if (step == warmup) { dist.Barrier(); watch.Start(); }
            timed = step >= warmup;
            using var scope = NewDisposeScope();
            trainingStep.Take(x, y);
            if (timed) { reduceSeconds += dist.LastAverageSeconds; mpiSeconds += dist.Comm.CommunicationSeconds - before; }
        }
        dist.Barrier();
        watch.Stop();
        var worst = dist.Comm.AllReduce([reduceSeconds, mpiSeconds, waitSeconds], ReduceOp.Max);
        if (dist.IsMain)
        {
            double perStep = watch.Elapsed.TotalSeconds / steps;
            long parameters = model.parameters().Sum(p => p.NumberOfElements);
            Console.WriteLine(FormattableString.Invariant(
                $"{backbone} {size}px, global batch {globalBatch} = {dist.WorldSize} rank(s) x {batch}, {threads} thread(s) per rank: {globalBatch / perStep:F2} images/s, {perStep * 1000:F0} ms/step; gradient all-reduce {worst[0] / steps * 1000:F1} ms/step (in MPI calls {worst[1] / steps * 1000:F1} ms/step, {dist.GradientBuckets} buckets, {parameters * 4 / 1e6:F1} MB of gradients); waiting for the slowest rank before it {worst[2] / steps * 1000:F1} ms/step"));
        }
        dist.Finish();
        return 0;
    }
}
