using System.Diagnostics;
using System.Globalization;
using FineTune.Data;
using FineTune.Native;
using FineTune.Weights;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune data bench`: decode + train-augment throughput of the loader (tensors out, as training sees them) next to
/// torchvision's ImageFolder + DataLoader with the same transforms over the same images, run alternately in one command
/// so both see the same machine load. Prints medians and their ratio. A benchmark, not a test.
/// </summary>
static class DataBench
{
    public static int Run(CommandLine cl)
    {
        var dir = cl.Require("data_dir", "the folder holding one sub-folder per class");
        var workersText = cl.Get("workers") ?? "1,2";
        int limit = cl.GetInt("images", 2000), batch = cl.GetInt("batch_size", 32), repeats = cl.GetInt("repeats", 3);
        bool noPython = cl.Flag("no_python");
        var script = cl.Get("script") ?? FindScript();
        var python = cl.Get("python") ?? "/usr/bin/python3";
        cl.RejectUnknown("data bench");
        var workers = workersText.Split(',').Select(w => int.TryParse(w, out var n) && n > 0 ? n : throw new UsageException($"--workers expects numbers like 1,2; got '{workersText}'.")).ToArray();
        if (repeats < 1) throw new UsageException("--repeats must be 1 or more.");
        TorchNative.EnsureLoaded();

        Console.WriteLine($"Scanning {dir} ...");
        var scan = DatasetScan.Run(dir);
        var all = ImageDataset.FromScan(scan);
        // The same images for both sides: a seeded subset of the usable ones, written to a list for the script.
        var pick = EpochOrder.Shuffled(7, 0, all.Count).Take(Math.Min(limit, all.Count)).Order().ToArray();
        var dataset = new ImageDataset(all.Root, all.Classes, pick.Select(i => all.Samples[i]).ToList());
        var list = Path.Combine(Path.GetTempPath(), $"finetune-bench-{Environment.ProcessId}.txt");
        File.WriteAllLines(list, dataset.Samples.Select(s => s.RelativePath));
        Console.WriteLine($"{dataset.Count} images, batch {batch}, train preset (RandomResizedCrop 224 scale 0.8-1 ratio 0.8-1.2, flip, rotate 15), ImageNet normalisation; {Environment.ProcessorCount} cores; median of {repeats}.");
        bool havePython = !noPython && File.Exists(python) && script is not null && File.Exists(script);
        if (!noPython && !havePython) Console.WriteLine($"torchvision side skipped: needs {python} (python3-torchvision) and tools/pytorch/bench_data.py (--script).");

        try
        {
            foreach (var w in workers)
            {
                var ours = new List<double>(); var theirs = new List<double>();
                for (int r = 0; r < repeats; r++)
                {
                    ours.Add(MeasureOurs(dataset, w, batch, r));
                    if (havePython) theirs.Add(MeasureTorchvision(python, script!, dir, list, w, batch, r, dataset.Count));
                }
                double o = Median(ours);
                var line = $"workers {w}: FineTune {o:0.0} img/s (runs {string.Join(", ", ours.Select(x => x.ToString("0.0", CultureInfo.InvariantCulture)))})";
                if (havePython)
                {
                    double t = Median(theirs);
                    line += $"; torchvision {t:0.0} img/s (runs {string.Join(", ", theirs.Select(x => x.ToString("0.0", CultureInfo.InvariantCulture)))}); ratio {o / t:0.00}x";
                }
                Console.WriteLine(line);
            }
        }
        finally { File.Delete(list); }
        return 0;
    }

    static double MeasureOurs(ImageDataset dataset, int workers, int batch, int epoch)
    {
        using var loader = new DataLoader(dataset, new TrainTransform().Validate(), Preprocessing.ImageNet,
            new LoaderOptions(BatchSize: batch, NumWorkers: workers, Shuffle: true, Seed: 42));
        var clock = Stopwatch.StartNew();
        int images = 0;
        foreach (var b in loader.Epoch(epoch)) using (b) images += b.Count;
        return images / clock.Elapsed.TotalSeconds;
    }

    static double MeasureTorchvision(string python, string script, string dir, string list, int workers, int batch, int epoch, int expectedImages)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, "--data_dir", dir, "--list", list, "--workers", workers.ToString(), "--batch_size", batch.ToString(), "--seed", epoch.ToString() })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new IOException($"Could not start {python}.");
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("images_per_second ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null)
            throw new IOException($"The torchvision benchmark failed (exit {p.ExitCode}): {stderr.Trim().Split('\n').LastOrDefault()}; install python3-torchvision or pass --no_python.");
        var count = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("images ", StringComparison.Ordinal));
        if (count is null || int.Parse(count["images ".Length..], CultureInfo.InvariantCulture) != expectedImages)
            throw new IOException($"The torchvision benchmark read {count ?? "no"} images instead of {expectedImages}: the two sides would not be comparable.");
        return double.Parse(line["images_per_second ".Length..], CultureInfo.InvariantCulture);
    }

    static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "tools", "pytorch", "bench_data.py");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
