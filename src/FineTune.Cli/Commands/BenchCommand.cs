using FineTune.Config;
using System.Globalization;
using FineTune.Benchmarks;
using FineTune.Data;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Native;
using TorchSharp;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune bench`: images/s of our ResNets in training and evaluation, beside PyTorch doing the same work
/// on the same machine in the same run (tools/pytorch/bench_models.py), with the ratio and both peak RSS.
/// With --data_dir, end to end: each step also takes its batch from a data loader over real images (ours:
/// <see cref="DataLoader"/>; PyTorch's: tools/pytorch/bench_e2e.py with torchvision's DataLoader).
/// A benchmark, not a test: it prints figures and asserts nothing about them.
/// </summary>
public static class BenchCommand
{


    public static int Run(CommandLine cl)
    {
        var models = (cl.Get("models") ?? "resnet18,resnet50").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(m => m.ToLowerInvariant()).ToList();
        var modes = ParseModes(cl.Get("mode") ?? cl.Get("modes") ?? "train,eval");
        var precisionSettings = ParsePrecisions(cl.Get("precision") ?? "fp32");
        var settings = new BenchmarkSettings
        {
            Batch = cl.GetInt("batch", 32),
            Size = cl.GetInt("size", 224),
            Warmup = cl.GetInt("warmup", 3),
            Steps = cl.GetInt("steps", 10),
            Threads = cl.GetInt("threads", 0),
            InteropThreads = cl.GetInt("interop_threads", 0),
            ChannelsLast = MemoryFormatFrom(cl),
            EvalEngine = ParseEvalEngine(cl.Get("eval_engine") ?? "auto"),
            EvalGradMode = ParseGradMode(cl.Get("eval_grad_mode") ?? "no_grad"),
            ReferenceNchw = cl.Flag("reference_nchw"),
            HugePages = cl.Flag("huge_pages"),
            ReferenceKeptHeap = cl.Flag("reference_kept_heap"),
            DataDir = cl.Get("data_dir"),
            Images = cl.GetInt("images", 640),
            Workers = cl.GetInt("workers", 2),
        };
        int rounds = cl.GetInt("rounds", 1);
        var python = cl.Get("python") ?? PyTorchReference.DefaultPython;
        bool withReference = !cl.Flag("no_reference");
        bool defaultHeap = cl.Flag("default_heap");
        bool withOnnx = !cl.Flag("no_onnx");
        cl.RejectUnknown("bench");

        try { settings.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (rounds < 1) throw new UsageException($"--rounds must be at least 1; got {rounds}.");
        if (models.Count == 0) throw new UsageException("--models needs at least one backbone, such as resnet18,resnet50.");
        foreach (var m in models) ModelFactory.ArchitectureOf(m); // unknown names fail before minutes of work

        // Both act on the native heap and must come before libtorch's first allocation.
        if (settings.HugePages && !TensorMemory.UseHugePages())
        {
            Console.WriteLine("Note: --huge-pages is not available here (needs Linux with glibc); measuring without it.");
            settings = settings with { HugePages = false };
        }
        if (defaultHeap)
        {
            // Read by TensorMemory when libtorch is first loaded; a process that already loaded it keeps its heap.
            if (TensorMemory.KeepsFreedMemory)
                Console.WriteLine("Note: --default-heap came after this process set up its heap; measuring with freed memory kept.");
            Environment.SetEnvironmentVariable(TensorMemory.OptOutVariable, "1");
        }
        var images = settings.DataDir is { } dir ? PickImages(dir, settings) : null;
        // The kernels the measured models will use, checked on this CPU first (a broken one would crash or mislead the bench).
        var plan = KernelSetup.Prepare(new KernelRequest(models.Select(KernelRequest.BlockOf).Distinct().ToList(), settings.Size, settings.Batch,
            settings.Size, settings.Batch, 1000, settings.ChannelsLast, modes.Contains(BenchmarkMode.Train), precisionSettings.Any(KernelRequest.MayUseBf16), settings.Threads));
        if (settings.ChannelsLast && !plan.ChannelsLast) settings = settings with { ChannelsLast = false };
        // Resolved after the kernel check: auto needs its verdict on the bf16 kernels.
        settings = settings with { Routing = plan.Routing() };
        var precisions = precisionSettings.Select(p => Precision.ForThisMachine(p, settings.Routing)).DistinctBy(c => c.Precision).ToList();
        if (images is not null) settings = settings with { Images = images.Count, Classes = images.Classes };

        ModelThroughput.ConfigureThreads(settings);
        PrintHeader(models, modes, settings, rounds);
        // The ceiling every row is measured against: this CPU's fp32 fused multiply-adds on the run's threads.
        double peak = PeakFlops.Measure(settings.EffectiveThreads);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"peak:    {peak / 1e9:0.0} GFLOP/s fp32 on {settings.EffectiveThreads} threads ({PeakFlops.Lanes * 32}-bit fused multiply-adds on registers, best of 3)"));
        foreach (var choice in precisions) Console.WriteLine(choice);
        foreach (var warning in precisions.Select(c => c.SlowerWarning).OfType<string>()) Console.WriteLine("Warning: " + warning);
        if (images is not null) PrintEndToEnd(images, settings);

        string? missing = null;
        using var reference = withReference ? PyTorchReference.TryCreate(python, out missing) : null;
        Console.WriteLine(reference is null
            ? $"PyTorch: {(withReference ? "not measured: " + missing : "not measured (--no-reference)")}"
            : $"PyTorch: {reference.Versions} ({python}, tools/pytorch/{(images is null ? "bench_models.py" : "bench_e2e.py")}, one process per row)");
        Console.WriteLine();

        var rows = new List<Row>();
        foreach (var model in models)
            foreach (var mode in modes)
                foreach (var precision in precisions.Select(c => c.Precision))
                    rows.Add(new Row(model, mode, precision));

        // Interleaved (ours, PyTorch, then PyTorch, ours next round) so that load from other processes on a
        // shared machine falls on both sides alike; the steps of all rounds are pooled into one median.
        for (int round = 0; round < rounds; round++)
        {
            foreach (var row in rows)
            {
                bool oursFirst = round % 2 == 0;
                var rowSettings = settings with { Precision = row.Precision };
                if (oursFirst) MeasureOurs(row, rowSettings, images, round, rounds);
                if (reference is not null && row.ReferenceError is null) MeasureReference(reference, row, rowSettings, images, round, rounds);
                if (!oursFirst) MeasureOurs(row, rowSettings, images, round, rounds);
            }
        }

        PrintTable(rows, reference is not null);
        var engines = rows.Where(r => r.Mode == BenchmarkMode.Eval && r.Ours is not null).Select(r => $"{r.Model} {r.Precision.ToName()}: {r.Ours!.Engine}").ToList();
        if (engines.Count > 0)
            Console.WriteLine($"Our evaluation rows ran on (--eval-engine {Config.EvalEngineSettings.ToName(settings.EvalEngine)}): {string.Join("; ", engines)}.");
        PrintEfficiency(rows, settings, peak);
        PrintPrecisionRatios(rows);
        // ONNX Runtime runs the exported fp32 graph: beside our fp32 evaluation rows.
        if (withOnnx && images is null)
            BenchOnnxRuntime.Print(rows.Where(r => r.Mode == BenchmarkMode.Eval && r.Precision == ComputePrecision.Fp32 && r.Ours is not null).Select(r => (r.Model, r.Ours!)), settings, rounds, peak);
        if (images is not null)
            Console.WriteLine("End to end: img/CPU-s counts the loaders too (our worker threads; PyTorch's worker processes, read from /proc);\n"
                              + "PyTorch's peak RSS is its main process's (its workers are forked from it and share most pages).");
        foreach (var row in rows.Where(r => r.ReferenceError is not null))
            Console.WriteLine($"PyTorch {row.Model} {Lower(row.Mode)} {row.Precision.ToName()}: not measured: {row.ReferenceError}");
        var gcs = rows.Sum(r => r.Ours?.GarbageCollections ?? 0);
        var timedSteps = rows.Sum(r => r.Ours?.Times.Seconds.Count ?? 0);
        Console.WriteLine($"ours: {gcs} .NET garbage collection(s) during {timedSteps} timed steps (tensors are freed by dispose scopes, not the GC).");
        if (rows.Any(r => r.Ours is { PeakIsPerRow: false }))
            Console.WriteLine("Note: this kernel does not let the process reset its peak RSS, so our peaks cover the whole run up to that row.");
        return 0;
    }

    sealed class Row(string model, BenchmarkMode mode, ComputePrecision precision)
    {
        public string Model { get; } = model;
        public BenchmarkMode Mode { get; } = mode;
        public ComputePrecision Precision { get; } = precision;
        public ThroughputResult? Ours { get; set; }
        public ThroughputResult? Reference { get; set; }
        public string? ReferenceError { get; set; }
    }

    static void MeasureOurs(Row row, BenchmarkSettings settings, BenchmarkImages? images, int round, int rounds)
    {
        Progress($"ours    {row.Model} {Lower(row.Mode)} {row.Precision.ToName()}", round, rounds);
        row.Ours = Merge(row.Ours, images is null
            ? ModelThroughput.Measure(row.Model, row.Mode, settings)
            : EndToEndThroughput.Measure(row.Model, row.Mode, images, settings));
    }

    static void MeasureReference(PyTorchReference reference, Row row, BenchmarkSettings settings, BenchmarkImages? images, int round, int rounds)
    {
        Progress($"PyTorch {row.Model} {Lower(row.Mode)} {row.Precision.ToName()}", round, rounds);
        try { row.Reference = Merge(row.Reference, reference.Measure(row.Model, row.Mode, settings, images)); }
        catch (BenchmarkReferenceException e) { row.ReferenceError = e.Message; }
    }

    /// <summary>Pools the steps of every round; the peak is the largest seen.</summary>
    static ThroughputResult Merge(ThroughputResult? earlier, ThroughputResult now) => earlier is null ? now : now with
    {
        Times = earlier.Times.Concat(now.Times),
        PeakRssBytes = earlier.PeakRssBytes is null || now.PeakRssBytes is null ? now.PeakRssBytes ?? earlier.PeakRssBytes
                       : Math.Max(earlier.PeakRssBytes.Value, now.PeakRssBytes.Value),
        PeakIsPerRow = earlier.PeakIsPerRow && now.PeakIsPerRow,
        GarbageCollections = earlier.GarbageCollections + now.GarbageCollections,
    };

    static void Progress(string what, int round, int rounds) =>
        Console.Error.WriteLine(rounds > 1 ? $"  measuring {what} (round {round + 1}/{rounds})" : $"  measuring {what}");

    static void PrintHeader(List<string> models, List<BenchmarkMode> modes, BenchmarkSettings s, int rounds)
    {
        var interop = s.InteropThreads > 0 ? $", {s.InteropThreads} inter-op" : "";
        Console.WriteLine($"finetune bench: {string.Join(", ", models)} | {string.Join(", ", modes.Select(Lower))} | batch {s.Batch}, {s.Size}x{s.Size} px, {s.Classes} classes");
        Console.WriteLine($"  {s.Warmup} warm-up + {s.Steps} timed steps x {rounds} round(s), medians | {s.EffectiveThreads} threads{interop} (both sides) | "
                          + $"{(s.ChannelsLast ? (s.ReferenceNchw ? "ours channels-last, PyTorch NCHW" : "channels-last") : "NCHW")} | eval {(s.EvalEngine == Config.EvalEngineSetting.Torch ? "in libtorch" : "on ONNX Runtime where it agrees (fp32)")} under {(s.EvalGradMode == EvalGradMode.InferenceMode ? "inference_mode" : "no_grad")} | "
                          + $"train: SGD lr {BenchmarkSettings.LearningRate}, momentum {BenchmarkSettings.Momentum}, wd {BenchmarkSettings.WeightDecay}");
        var version = typeof(torch).Assembly.GetName().Version;
        Console.WriteLine($"ours:    TorchSharp {version?.ToString(3)} ({Environment.ProcessorCount} cores, .NET {Environment.Version}{(s.HugePages ? ", huge pages" : "")})");
        Console.WriteLine($"heap:    ours: {TensorMemory.Description}; PyTorch: "
                          + (s.ReferenceKeptHeap ? $"freed memory kept too ({string.Join(' ', TensorMemory.KeptHeapEnvironment.Select(v => $"{v.Key}={v.Value}"))}, --reference-kept-heap)" : "glibc default heap"));
    }

    /// <summary>The same seeded subset of the folder's usable images for both sides (every file is checked first, as `data bench` does).</summary>
    static BenchmarkImages PickImages(string dir, BenchmarkSettings settings)
    {
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"Data folder '{dir}' not found: --data_dir takes a folder with one sub-folder of images per class; "
                                                 + "for Caltech-101 run `finetune data prepare --archive 101_ObjectCategories.tar.gz` (or `--download`) first.");
        Console.Error.WriteLine($"  scanning {dir} (every file is checked) ...");
        var images = BenchmarkImages.Pick(dir, settings.Images);
        if (images.Count < settings.Batch)
            throw new DatasetException($"Only {images.Count} usable images under '{dir}', fewer than one batch of {settings.Batch}; lower --batch or use a bigger folder.");
        return images;
    }

    static void PrintEndToEnd(BenchmarkImages images, BenchmarkSettings s)
    {
        Console.WriteLine($"end to end: loader ({s.Workers} worker{(s.Workers == 1 ? "" : "s")}) + model, {images.Count} images from {images.DataDir} ({images.Classes} classes)");
        Console.WriteLine($"  each step waits for its batch | train: shuffled, RandomResizedCrop {s.Size} scale 0.8-1 ratio 0.8-1.2, flip, rotation 15 | "
                          + $"eval: in order, resize to {s.Size}x{s.Size} | ImageNet normalisation | ours: FineTune's DataLoader, PyTorch: ImageFolder + DataLoader");
    }

    static void PrintTable(List<Row> rows, bool withReference)
    {
        Console.WriteLine(withReference
            ? $"{"model",-10} {"mode",-5} {"prec",-4} | {"ours img/s",14} {"PyTorch img/s",14} {"ratio",6} | {"ours",6} {"PyTorch",7} {"ratio",6} img/CPU-s | {"ours",8} {"PyTorch",8} peak RSS"
            : $"{"model",-10} {"mode",-5} {"prec",-4} | {"ours img/s",14} | {"ours",6} img/CPU-s | {"ours",8} peak RSS");
        foreach (var r in rows)
        {
            var ours = r.Ours!;
            var theirs = r.Reference;
            var line = $"{r.Model,-10} {Lower(r.Mode),-5} {r.Precision.ToName(),-4} | {Rate(ours),14}";
            if (withReference)
            {
                line += $" {(theirs is null ? "-" : Rate(theirs)),14} {(theirs is null ? "-" : Ratio(ours.ImagesPerSecond / theirs.ImagesPerSecond)),6}"
                      + $" | {PerCpu(ours),6} {(theirs is null ? "-" : PerCpu(theirs)),7} {(theirs is null ? "-" : Ratio(PerCpuValue(ours) / PerCpuValue(theirs))),6}"
                      + $"           | {Bytes(ours.PeakRssBytes),8} {(theirs is null ? "-" : Bytes(theirs.PeakRssBytes)),8}";
            }
            else line += $" | {PerCpu(ours),6}           | {Bytes(ours.PeakRssBytes),8}";
            Console.WriteLine(line);
        }
        Console.WriteLine("img/s = batch / median wall time of a step; (±n%) = interquartile range of the step times over the median;");
        Console.WriteLine("img/CPU-s = batch / median CPU seconds of a step (all threads): less disturbed by other load on a shared machine.");
    }

    /// <summary>
    /// What each row's images/s are in FLOPs (<see cref="FlopCount"/>: convolutions and classifier; training three
    /// forwards), and that as a fraction of the measured fp32 peak. bf16 rows are shown against the fp32 peak too.
    /// </summary>
    static void PrintEfficiency(List<Row> rows, BenchmarkSettings s, double peak)
    {
        Console.WriteLine();
        Console.WriteLine($"{"model",-10} {"mode",-5} {"prec",-4} | {"GFLOP/img",9} | {"ours GFLOP/s",18} {"PyTorch GFLOP/s",18}   (share of the {peak / 1e9:0.0} GFLOP/s peak)");
        foreach (var r in rows)
        {
            double perImage = FlopCount.PerImage(ModelFactory.ArchitectureOf(r.Model), s.Size, s.Classes, r.Mode);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Model,-10} {Lower(r.Mode),-5} {r.Precision.ToName(),-4} | {perImage / 1e9,9:0.00} | {Achieved(perImage, r.Ours, peak),18} {Achieved(perImage, r.Reference, peak),18}"));
        }
    }

    internal static string Achieved(double flopsPerImage, ThroughputResult? r, double peak)
    {
        if (r is null) return "-";
        double flops = flopsPerImage * r.ImagesPerSecond;
        return string.Create(CultureInfo.InvariantCulture, $"{flops / 1e9:0.0} ({flops / peak * 100:0}%)");
    }

    /// <summary>Where a model and mode ran in both precisions: bf16's images/s over fp32's, for each side.</summary>
    static void PrintPrecisionRatios(List<Row> rows)
    {
        foreach (var group in rows.GroupBy(r => (r.Model, r.Mode)))
        {
            var fp32 = group.FirstOrDefault(r => r.Precision == ComputePrecision.Fp32);
            var bf16 = group.FirstOrDefault(r => r.Precision == ComputePrecision.Bf16);
            if (fp32?.Ours is null || bf16?.Ours is null) continue;
            // Wall time and CPU time: on a shared machine the second is the steadier of the two.
            string Both(ThroughputResult b, ThroughputResult f) =>
                $"{Ratio(b.ImagesPerSecond / f.ImagesPerSecond)} ({Ratio(PerCpuValue(b) / PerCpuValue(f))} per CPU-s)";
            var line = $"bf16 over fp32, {group.Key.Model} {Lower(group.Key.Mode)}: ours {Both(bf16.Ours, fp32.Ours)}";
            if (fp32.Reference is not null && bf16.Reference is not null)
                line += $", PyTorch {Both(bf16.Reference, fp32.Reference)}";
            Console.WriteLine(line);
        }
    }

    /// <summary>--precision fp32, bf16, auto or a list (fp32,bf16): each becomes its own rows.</summary>
    static List<PrecisionSetting> ParsePrecisions(string text)
    {
        var choices = new List<PrecisionSetting>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var setting = PrecisionSettings.TryParse(part)
                ?? throw new UsageException($"--precision takes fp32, bf16, auto or a list such as fp32,bf16; got '{part}'.");
            choices.Add(setting);
        }
        if (choices.Count == 0) throw new UsageException("--precision takes fp32, bf16, auto or a list such as fp32,bf16.");
        return choices;
    }

    static double PerCpuValue(ThroughputResult r) => r.Times.ImagesPerCpuSecond(r.Batch);

    static string PerCpu(ThroughputResult r) => double.IsFinite(PerCpuValue(r)) ? PerCpuValue(r).ToString("0.0", CultureInfo.InvariantCulture) : "-";

    static string Rate(ThroughputResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.ImagesPerSecond:0.0} (±{r.Times.RelativeSpread * 100:0}%)");

    static string Ratio(double r) => double.IsFinite(r) ? r.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-";

    static string Bytes(long? bytes) => bytes is null ? "unknown"
        : string.Create(CultureInfo.InvariantCulture, $"{bytes.Value / (1024.0 * 1024 * 1024):0.00}G");

    static string Lower(BenchmarkMode mode) => mode.ToString().ToLowerInvariant();

    static List<BenchmarkMode> ParseModes(string text)
    {
        var modes = new List<BenchmarkMode>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            modes.Add(part.ToLowerInvariant() switch
            {
                "train" => BenchmarkMode.Train,
                "eval" => BenchmarkMode.Eval,
                _ => throw new UsageException($"--mode takes train, eval or train,eval; got '{part}'."),
            });
        }
        if (modes.Count == 0) throw new UsageException("--mode takes train, eval or train,eval.");
        return modes.Distinct().ToList();
    }

    /// <summary>Channels-last unless --nchw: measured faster on both sides (see docs/throughput.md).</summary>
    static bool MemoryFormatFrom(CommandLine cl)
    {
        bool channelsLast = cl.Flag("channels_last"), nchw = cl.Flag("nchw");
        if (channelsLast && nchw) throw new UsageException("--channels-last and --nchw contradict each other: pass one (channels-last is the default).");
        return !nchw;
    }

    static Config.EvalEngineSetting ParseEvalEngine(string text) => Config.EvalEngineSettings.TryParse(text)
        ?? throw new UsageException($"--eval-engine takes auto, torch or onnxruntime; got '{text}'.");

    static EvalGradMode ParseGradMode(string text) => text.Replace('-', '_').ToLowerInvariant() switch
    {
        "no_grad" => EvalGradMode.NoGrad,
        "inference_mode" => EvalGradMode.InferenceMode,
        _ => throw new UsageException($"--eval-grad-mode takes no_grad or inference_mode; got '{text}'."),
    };
}
