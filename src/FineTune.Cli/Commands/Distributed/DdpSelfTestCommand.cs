using System.Globalization;
using System.Runtime.InteropServices;
using FineTune.Distributed;
using FineTune.Models;
using FineTune.Native;
using FineTune.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Cli.Commands.Distributed;

/// <summary>
/// `finetune ddp-selftest` (hidden): k SGD steps (the trainer's <see cref="TrainingStep"/>) of a tiny ResNet on deterministic synthetic data, where
/// rank r of w takes the r-th contiguous shard of each global batch. Its final state dict is written to
/// a file per rank, so a test can check that 2 ranks x batch b equal 1 rank x batch 2b, and that all
/// ranks agree. Options make one rank die or ask to stop, to test that the job ends together.
/// </summary>
public static class DdpSelfTestCommand
{
    public const int Classes = 10;

    public static int Run(CommandLine cl)
    {
        int steps = cl.GetInt("steps", 3);
        int batch = cl.GetInt("batch", 4);
        int size = cl.GetInt("size", 32);
        int seed = cl.GetInt("seed", 7);
        int threads = cl.GetInt("threads", 1);
        bool syncBn = cl.Flag("sync_bn");
        bool fp64 = cl.Flag("fp64");
        var output = cl.Get("out");
        int killRank = cl.GetInt("kill_rank", -1), killStep = cl.GetInt("kill_step", -1);
        var killHow = cl.Get("kill_how") ?? "signal";
        int stopRank = cl.GetInt("stop_rank", -1), stopStep = cl.GetInt("stop_step", -1);
        var stopHow = cl.Get("stop_how") ?? "flag";
        int unfreezeStep = cl.GetInt("unfreeze_step", -1);
        cl.RejectUnknown("ddp-selftest");
        if (steps < 1 || batch < 1 || size < 32) throw new UsageException("--steps and --batch must be at least 1 and --size at least 32.");
        if (killHow is not ("signal" or "error")) throw new UsageException($"--kill-how expects signal or error; got '{killHow}'.");
        if (stopHow is not ("flag" or "sigint")) throw new UsageException($"--stop-how expects flag or sigint; got '{stopHow}'.");

        TorchNative.EnsureLoaded();
        torch.set_num_threads(threads);
        using var dist = DistributedContext.Create(distributed: true);
        using var signals = new SignalStop(announcement: null);
        using var listening = signals.Listen();
        int rank = dist.Rank, world = dist.WorldSize;
        Console.WriteLine($"rank {rank}/{world}: {dist.Comm.Describe()}");

        // Ranks start from different weights on purpose: the broadcast from rank 0 must make them equal.
        torch.manual_seed(seed + rank);
        using var model = new ResNet(new ResNetArchitecture(BlockKind.Basic, [1, 1, 1, 1]), Classes);
        if (fp64) model.Precision = ComputePrecision.Fp64; // before the broadcast and the optimizer: every bit of the state in float64
        dist.BroadcastState(model);
        using var syncUndo = syncBn ? SyncBatchNorm.Convert(model, dist.Comm) : null;
        // Frozen BatchNorm (eval) makes per-rank and global-batch training identical; with --sync-bn the
        // statistics are global, so training mode is identical too.
        model.train(syncBn);
        // Fine-tuning's freeze-then-unfreeze: the stem is frozen until --unfreeze-step, which changes the
        // set of gradients to average mid-run.
        var stem = model.named_parameters().First(p => p.name == "conv1.weight").parameter;
        stem.requires_grad = unfreezeStep <= 0;
        using var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9, weight_decay: 1e-4);
        var trainingStep = new TrainingStep(model, optimizer, dist); // the trainer's step: what passes here is what trains

        int completed = 0;
        for (int step = 0; step < steps; step++)
        {
            if (rank == killRank && step == killStep) Die(step, killHow);
            if (step == unfreezeStep) stem.requires_grad = true;
            using (var scope = NewDisposeScope())
            {
                var (x, y) = Shard(seed, step, batch, rank, world, size);
                var (loss, correct) = trainingStep.Take(x, y)!.Value;
                var sums = dist.SumOverRanks(loss * batch, correct, batch);
                if (dist.IsMain)
                    Console.WriteLine(FormattableString.Invariant($"step {step}: global loss {sums[0] / sums[2]:R} accuracy {sums[1] / sums[2]:F4} over {sums[2]} samples, all-reduce {dist.LastAverageSeconds * 1000:F1} ms"));
            }
            completed = step + 1;
            bool wantStop = rank == stopRank && step == stopStep;
            if (wantStop && stopHow == "sigint") { RaiseSigint(); WaitForStopFlag(signals.Token); wantStop = false; }
            if (dist.ShouldStop(wantStop || signals.Token.IsCancellationRequested))
            {
                Console.WriteLine($"rank {rank}: stopping together after step {step} ({(wantStop ? "this rank asked" : signals.Signal ?? "another rank asked")})");
                break;
            }
        }

        var maxDiff = dist.MaxDifferenceFromRank0(model);
        Console.WriteLine(FormattableString.Invariant($"rank {rank}: completed {completed} steps; max |p - p_rank0| = {maxDiff:R}"));
        if (output is not null) SaveState(model, output.Replace("{rank}", rank.ToString(CultureInfo.InvariantCulture)));
        dist.Finish();
        return 0;
    }

    /// <summary>The samples of global batch <paramref name="step"/> that rank <paramref name="rank"/> trains on.</summary>
    static (Tensor X, Tensor Y) Shard(int seed, int step, int batch, int rank, int world, int size)
    {
        long first = (long)step * batch * world + (long)rank * batch;
        var xs = new List<Tensor>();
        var labels = new long[batch];
        for (int i = 0; i < batch; i++)
        {
            long index = first + i;
            using var generator = new Generator((ulong)(seed * 1_000_003L + index));
            xs.Add(randn([1, 3, size, size], generator: generator));
            labels[i] = index % Classes;
        }
        return (cat(xs), tensor(labels));
    }

    static void Die(int step, string how)
    {
        // No rank in these lines on purpose: the tests check that mpirun and the CLI name it.
        Console.WriteLine($"dying at step {step} ({how}) as asked");
        Console.Out.Flush();
        if (how == "error") // the path of any error a rank meets: one line, exit status 1, no MPI_Finalize
            throw new DistributedException($"simulated failure at step {step} (ddp-selftest --kill-how error).");
        Kill(Environment.ProcessId, 9); // SIGKILL: like the OOM killer or a crashed node
    }

    static void RaiseSigint() => Kill(Environment.ProcessId, 2);

    static void WaitForStopFlag(CancellationToken stop)
    {
        // The handler runs on another thread; wait for it so the stop lands on this step, deterministically.
        for (int i = 0; i < 3000 && !stop.IsCancellationRequested; i++) Thread.Sleep(10);
    }

    static void SaveState(nn.Module model, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        model.save(temp);
        File.Move(temp, path, overwrite: true);
    }

    [DllImport("libc", EntryPoint = "kill")]
    static extern int Kill(int pid, int signal);
}
