using FineTune.Tests.Cli;
using FineTune.Comparison;
using FineTune.Kernels;
using FineTune.MpiHost;
using FineTune.Tests.Training;
using FineTune.Training.Checkpoints;
using Xunit;

namespace FineTune.Tests.Kernels;

/// <summary>
/// `finetune train` as a process on a CPU made faulty (the tests' host runs `finetune train`'s Experiment.Train with
/// FineTune.MpiHost's <see cref="FaultyKernels"/> in the model's convolutions and in the kernel check's probes, where a
/// broken oneDNN kernel would act): the check routes around the fault and the run learns what a sound CPU learns; a
/// native crash mid-run keeps the checkpoint and the next start says what happened.
/// </summary>
public class FaultyCpuRunTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// A training run in <paramref name="dir"/>: by `finetune` itself when <paramref name="fault"/> is null, else by the
    /// tests' host on a CPU with that fault ("none": the same host, nothing injected).
    /// </summary>
    static (int Code, string Out, string Err) Train(string dir, string? fault, Dictionary<string, string> environment, int epochs = 2)
    {
        File.WriteAllText(Path.Combine(dir, "run.yaml"),
            "data:\n  source: synthetic\n  synthetic_images_per_class: 8\n  image_size: 64\n  batch_size: 4\n  seed: 5\n" +
            "model:\n  backbone: resnet18\n  pretrained: false\n  num_classes: 3\n" +
            $"training:\n  num_epochs: {epochs}\n  threads: 1\n  precision: fp32\n  optimizer: sgd\n  base_lr: 0.01\n  channels_last: true\n  early_stopping: 0\n  freeze_batchnorm: true\n" +
            $"experiment:\n  name: run\n  checkpoint_dir: {dir}/ckpt\n  log_dir: {dir}/logs\n  export_pytorch: false\n  save_every: 1\n");
        var withHome = new Dictionary<string, string>(environment) { ["FINETUNE_HOME"] = Path.Combine(dir, "home") };
        var run = fault is null
            ? FinetuneProgram.Run(dir, withHome, "train", "--config", "run.yaml")
            : Processes.Run(MpiJob.Dotnet, [MpiJob.HostDll, "train-with-faults", fault, "train", "--config", "run.yaml"], dir, withHome);
        return (run.Code, run.Out, run.Err);
    }

    // BatchNorm frozen: from scratch, batch statistics over a few values amplify rounding without bound, and two
    // runs of the same function would part for that reason alone.
    /// <summary>The largest difference between two runs' final weights, and where.</summary>
    static (double Difference, string Name) MaxWeightDifference(string dirA, string dirB)
    {
        using var a = CheckpointFile.Load(Path.Combine(dirA, "ckpt", "run", "checkpoint_epoch_2.ckpt")).CreateModel(TestSetup.Routing);
        using var b = CheckpointFile.Load(Path.Combine(dirB, "ckpt", "run", "checkpoint_epoch_2.ckpt")).CreateModel(TestSetup.Routing);
        var sb = b.state_dict();
        return a.state_dict().Where(kv => kv.Value.is_floating_point())
            .Select(kv => ((double)(kv.Value - sb[kv.Key]).abs().max().item<float>(), kv.Key))
            .MaxBy(d => d.Item1);
    }

    [Fact]
    public void On_a_faulty_cpu_the_check_routes_around_the_kernel_and_training_matches_a_sound_cpu()
    {
        var sound = Tiny.TempFolder();
        var faulty = Tiny.TempFolder();
        var unchecked_ = Tiny.TempFolder();
        var a = Train(sound, "none", []);
        Assert.True(a.Code == 0, a.Err);
        Assert.Contains("Kernels: channels-last on", a.Out);
        var (fault, route) = InjectedFaults.WhereSound(a.Out);
        output.WriteLine($"injected: {fault}");
        var b = Train(faulty, fault, []);
        var c = Train(unchecked_, fault, new() { ["FINETUNE_KERNEL_CHECK"] = "off" });
        Assert.True(b.Code == 0, $"exit {b.Code}: {b.Out}\n{b.Err}");
        // Unchecked, the fault is real: training parts from the sound run, or (a wrong 3x3 convolution) diverges to NaN.
        var diverged = c.Code != 0;
        Assert.True(c.Code == 0 || c.Out.Contains("the loss became NaN", StringComparison.Ordinal), $"exit {c.Code}: {c.Out}\n{c.Err}");

        Assert.Contains(route, b.Out);
        Assert.Contains("failed with libtorch's own kernels on this CPU", b.Out);
        Assert.Contains("unchecked (FINETUNE_KERNEL_CHECK=off)", c.Out);

        // Routed: the same function, so the same weights up to rounding (two sound runs are bit-identical; the routed
        // kernel rounds differently: worst measured 3.9e-3 after 2 epochs, docs/platform.md, Test bars; the bar is 8 times that). Unchecked:
        // training parts (0.27 with the layer4 shortcut wrong) or diverges.
        var routed = MaxWeightDifference(sound, faulty);
        output.WriteLine($"routed vs sound {routed.Difference:e2} ({routed.Name})");
        Assert.True(routed.Difference < 3e-2, $"routed run differs by {routed.Difference} in {routed.Name}");
        if (diverged) output.WriteLine("unchecked: the loss became NaN");
        else
        {
            var broken = MaxWeightDifference(sound, unchecked_);
            output.WriteLine($"unchecked vs sound {broken.Difference:e2} ({broken.Name})");
            Assert.True(broken.Difference > 10 * routed.Difference, $"the injected fault changed an unchecked run by {broken.Difference} only ({broken.Name})");
        }
        var ra = ResultsFile.Read(Path.Combine(sound, "ckpt", "run", ResultsFile.FileName));
        var rb = ResultsFile.Read(Path.Combine(faulty, "ckpt", "run", ResultsFile.FileName));
        foreach (var (ea, eb) in ra.History.Zip(rb.History))
            output.WriteLine($"epoch {ea.Epoch}: val accuracy {ea.ValAccuracy} sound, {eb.ValAccuracy} routed; val loss {ea.ValLoss} sound, {eb.ValLoss} routed");
        foreach (var (ea, eb) in ra.History.Zip(rb.History))
            Assert.True(Math.Abs(ea.ValAccuracy - eb.ValAccuracy) <= 0.09, $"epoch {ea.Epoch}: val accuracy {ea.ValAccuracy} sound, {eb.ValAccuracy} routed");
    }

    [Fact]
    public void A_native_crash_keeps_the_checkpoint_and_the_next_start_says_what_happened_and_steps_down()
    {
        var dir = Tiny.TempFolder();
        // The 12th call of layer4's shortcut is in epoch 2 (6 training and 3 or 4 validation batches per epoch); unchecked, it kills the run.
        var crashed = Train(dir, "kind=crash,cin=256,cout=512,k=1,after=11", new() { ["FINETUNE_KERNEL_CHECK"] = "off" }, epochs: 3);
        Assert.True(crashed.Code == 136, $"exit {crashed.Code}: {crashed.Err}");
        var folder = Path.Combine(dir, "ckpt", "run");
        var kept = Path.Combine(folder, "checkpoint_best.ckpt");
        Assert.Equal(1, CheckpointFile.Load(kept).Info.Epoch);
        Assert.True(File.Exists(Path.Combine(folder, RunMarker.FileName)));

        var next = Train(dir, null, [], epochs: 1);
        Assert.True(next.Code == 0, next.Err);
        Assert.Contains("ended without finishing and without a message", next.Out);
        Assert.Contains("checkpoint_best.ckpt", next.Out);
        Assert.Contains("--resume", next.Out);
        Assert.Contains("Kernels: channels-last off", next.Out);
        Assert.Contains("more conservative after 1 run(s)", next.Out);
        Assert.False(File.Exists(Path.Combine(folder, RunMarker.FileName)), "a finished run removes its marker");
        Assert.Contains("finetune doctor --recheck", next.Out);

        // A clean run at the lower plan keeps it (it proves nothing about the faster one); doctor --recheck clears the
        // step-down, and the next run is checked from the fastest plan again.
        var again = Train(dir, null, [], epochs: 1);
        Assert.Contains("more conservative after 1 run(s)", again.Out);
        var doctor = FinetuneProgram.Run(dir, new Dictionary<string, string> { ["FINETUNE_HOME"] = Path.Combine(dir, "home") }, "doctor", "--config", "run.yaml", "--recheck");
        Assert.True(doctor.Code == 0, doctor.Err);
        Assert.Contains("Cleared 1 step-down(s)", doctor.Out);
        var restored = Train(dir, null, [], epochs: 1);
        Assert.True(restored.Code == 0, restored.Err);
        Assert.Contains("Kernels: channels-last on", restored.Out);
        Assert.DoesNotContain("more conservative", restored.Out);
    }

    [Avx2Fact]
    public void An_instruction_set_cap_reaches_oneDNN_itself()
    {
        var dir = Tiny.TempFolder();
        // A fault no route or layout avoids, gone at AVX2: the plan caps oneDNN there, after libtorch has loaded.
        var run = Train(dir, "kind=crash,cin=64,cout=128,k=3,route=any,isa_above=AVX2", new() { ["ONEDNN_VERBOSE"] = "1" }, epochs: 1);
        Assert.True(run.Code == 0, run.Err);
        output.WriteLine(string.Join("\n", run.Out.Split('\n').Where(l => !l.StartsWith("onednn_verbose,v1,primitive") && !l.StartsWith("onednn_verbose,v1,exec"))));
        Assert.Contains("oneDNN ISA AVX2", run.Out);
        Assert.Contains("onednn_verbose,v1,info,cpu,isa:Intel AVX2", run.Out);
        Assert.Contains(",convolution,", run.Out);
        // oneDNN's own lines only: the run's precision line may name the CPU's avx512_bf16 flag.
        Assert.DoesNotContain(run.Out.Split('\n'), line => line.StartsWith("onednn_verbose", StringComparison.Ordinal) && line.Contains("avx512", StringComparison.Ordinal));
    }
}
