using System.Globalization;
using FineTune.Data;
using FineTune.Data.Archives;
using FineTune.Cli.Parsing;
using FineTune.IO;

namespace FineTune.Cli.Commands;

/// <summary>`finetune data prepare|verify|synth|bench`: getting, checking and measuring image data.</summary>
public static class DataCommand
{
    public static int Run(string[] args)
    {
        var sub = args.Length > 0 ? args[0] : "";
        var rest = args.Length > 0 ? args[1..] : [];
        return sub switch
        {
            "prepare" => Prepare(new CommandLine(rest, CommandCatalog.DataPrepare)),
            "verify" => Verify(new CommandLine(rest, CommandCatalog.DataVerify)),
            "synth" => Synth(new CommandLine(rest, CommandCatalog.DataSynth)),
            "bench" => DataBench.Run(new CommandLine(rest, CommandCatalog.DataBench)),
            _ => throw new UsageException("Use `finetune data prepare --archive PATH [--out DIR] [--max_ratio R] [--max_entries N] [--ignore_free_space]`, `data verify --data_dir DIR [--manifest EXPERIMENT_DIR]`, `data synth --out DIR --classes N --per-class M` or `data bench --data_dir DIR [--workers 1,2]`."),
        };
    }

    static int Prepare(CommandLine cl)
    {
        var outDir = cl.Get("out") ?? Path.Combine("data", "caltech-101");
        var archive = cl.Get("archive");
        bool download = cl.Flag("download");
        var url = cl.Get("url") ?? DatasetPreparer.OfficialUrl;
        var sha256 = cl.Get("sha256");
        var sizeText = cl.Get("size");
        var maxRatio = cl.Get("max_ratio");
        var maxEntries = cl.Get("max_entries");
        var limits = new ArchiveLimits(
            MaxRatio: maxRatio is null ? ArchiveLimits.DefaultMaxRatio
                : double.TryParse(maxRatio, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r > 0 ? r
                : throw new UsageException($"--max_ratio expects a positive number (declared bytes over archive bytes); got '{maxRatio}'."),
            MaxEntries: maxEntries is null ? ArchiveLimits.DefaultMaxEntries
                : long.TryParse(maxEntries, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m > 0 ? m
                : throw new UsageException($"--max_entries expects a positive whole number; got '{maxEntries}'."),
            CheckFreeSpace: !cl.Flag("ignore_free_space"));
        cl.RejectUnknown("data prepare");
        long? size = sizeText is null ? null : long.TryParse(sizeText, out var s) && s > 0 ? s : throw new UsageException($"--size expects a byte count; got '{sizeText}'.");
        if (download)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new UsageException($"--url '{url}' is not an http(s) address.");
            archive ??= Path.Combine(outDir, Path.GetFileName(uri.LocalPath) is { Length: > 0 } name ? name : "caltech-101.zip");
            Download.Fetch(uri, archive, new DownloadCheck(size, sha256), fallback: DatasetPreparer.DownloadFallback, log: Console.WriteLine);
            if (sha256 is null)
                Console.WriteLine($"Downloaded {archive} ({new FileInfo(archive).Length:N0} bytes, size checked against the server); pass --sha256 to pin its content.");
        }
        else if (archive is null) throw new UsageException("Missing --archive: pass the path of caltech-101.zip or 101_ObjectCategories.tar.gz (or --download).");
        var (folder, already, files) = DatasetPreparer.Prepare(archive, outDir, limits, Console.WriteLine);
        Console.WriteLine(already
            ? $"{folder} already exists; nothing extracted (delete it to prepare again)."
            : $"Extracted {files:N0} files into {folder}. Next: finetune data verify --data_dir {folder}");
        return 0;
    }

    static int Verify(CommandLine cl)
    {
        var dir = cl.Require("data_dir", "the folder holding one sub-folder per class");
        var keep = cl.Flag("keep_background");
        var maxPixels = cl.Get("max_pixels");
        var manifestDir = cl.Get("manifest");
        cl.RejectUnknown("data verify");
        var options = new ScanOptions(KeepBackground: keep,
            MaxPixels: maxPixels is null ? ImageDecoder.DefaultMaxPixels : long.TryParse(maxPixels, out var m) && m > 0 ? m : throw new UsageException($"--max_pixels expects a positive whole number; got '{maxPixels}'."));
        var scan = DatasetScan.Run(dir, options);
        Console.WriteLine(scan.Report());
        var empty = scan.EmptyClasses();
        if (empty.Count > 0)
            throw new DatasetException($"Class '{empty[0]}' has no usable images{(empty.Count > 1 ? $" (and {empty.Count - 1} more classes)" : "")}; every class folder needs images: add some or remove the folder.");
        if (manifestDir is not null)
        {
            var manifest = SplitManifest.Load(manifestDir);
            manifest.Verify(dir);
            Console.WriteLine($"Split manifest {Path.Combine(manifestDir, SplitManifest.FileName)}: all {manifest.Entries.Count} files unchanged (seed {manifest.Seed}, train/val/test {manifest.Ratios}).");
        }
        return 0;
    }

    static int Synth(CommandLine cl)
    {
        var outDir = cl.Require("out", "the folder to create");
        int classes = cl.GetInt("classes", 5), perClass = cl.GetInt("per_class", 20), size = cl.GetInt("size", 96);
        var seed = ulong.TryParse(cl.Get("seed") ?? "42", NumberStyles.None, CultureInfo.InvariantCulture, out var sd) ? sd : throw new UsageException("--seed expects a whole number.");
        cl.RejectUnknown("data synth");
        if (size < 16 || size > 2048) throw new UsageException($"--size {size} is out of range; use 16..2048.");
        int n = SyntheticDataset.Write(outDir, classes, perClass, seed, size);
        Console.WriteLine($"Wrote {n} images in {classes} classes to {outDir}.");
        return 0;
    }
}
