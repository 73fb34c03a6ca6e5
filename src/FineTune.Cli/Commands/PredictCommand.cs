using FineTune.Data;
using FineTune.Evaluation;
using FineTune.Export;
using FineTune.Kernels;
using FineTune.Models;
using FineTune.Prediction;
using FineTune.Training.Checkpoints;
using TorchSharp;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune predict --model_path P IMAGE|FOLDER... [--topk 5] [--json] [--gpu 0]`: the top classes of each image.
/// Needs no dataset or config: class names, preprocessing and image size come from the checkpoint, or from the
/// metadata of an .onnx file written by `finetune export --format onnx` (run by ONNX Runtime, without libtorch).
/// </summary>
public static class PredictCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "json" };

    // A folder's files are taken when they are named like images or start like one; anything else (notes, CSVs) is passed over.
    static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp" };

    public static int Run(CommandLine cl)
    {
        var modelPath = cl.Require("model_path", "the checkpoint to predict with, e.g. outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt");
        int topK = cl.GetInt("topk", 5);
        bool json = cl.Flag("json");
        var gpu = cl.Get("gpu");
        int batchSize = cl.GetInt("batch_size", 16);
        var precisionText = cl.Get("precision");
        cl.RejectUnknown("predict");
        var requested = PrecisionOption.Read(precisionText);
        if (topK < 1) throw new UsageException($"--topk must be 1 or more; got {topK}.");
        if (batchSize < 1) throw new UsageException($"--batch_size must be 1 or more; got {batchSize}.");
        if (cl.Positionals.Count == 0) throw new UsageException("Name an image or a folder of images to classify: finetune predict --model_path P IMAGE|FOLDER.");

        var images = ListImages(cl.Positionals);
        if (string.Equals(Path.GetExtension(modelPath), ".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (gpu is not null) throw new UsageException("--gpu applies to checkpoints; an .onnx file runs on ONNX Runtime's CPU provider here.");
            using var onnx = OnnxClassifier.Open(modelPath);
            return Print(onnx.Predict(images, topK, batchSize), json);
        }
        var checkpoint = CheckpointFile.Load(modelPath);
        var info = checkpoint.Info;
        var device = TrainCommand.ChooseDevice(gpu);
        // The checkpoint's own evaluation size and resize (stretch or centre crop), as validation and `finetune test` used.
        var (preprocessing, transform) = ExportSource.EvalSettings(info);
        int imageSize = transform.Size;
        var trained = ExportSource.TrainedConfig(info);
        var precision = requested ?? trained?.Training.Precision ?? PrecisionSetting.Auto;
        // On stderr: stdout may be --json.
        KernelSetup.Prepare(new KernelRequest([KernelRequest.BlockOf(info.Backbone)], imageSize, batchSize, imageSize, batchSize, info.NumClasses,
            ChannelsLast: true, Training: false, Bf16: KernelRequest.MayUseBf16(precision), Threads: 0), Console.Error);
        using var model = checkpoint.CreateModel();
        model.to(device);
        model.eval();
        // The checkpoint's own training.precision unless --precision says otherwise; on stderr, so stdout holds only predictions.
        PrecisionOption.Apply(model, precision, device, Console.Error);

        var dataset = new ImageDataset(".", info.ClassNames, images.Select(p => new Sample(p, p, 0)).ToList());
        var options = new LoaderOptions(BatchSize: batchSize, NumWorkers: Math.Clamp(Environment.ProcessorCount, 1, 4), Shuffle: false);
        using var loader = new DataLoader(dataset, transform, preprocessing, options);
        var byIndex = new ImagePrediction?[images.Count];
        EvalPass.ForInference(model, device).Run(loader.Epoch(0), (batch, logits) =>
        {
            var probabilities = EvalPass.Probabilities(logits);
            for (int i = 0; i < batch.Count; i++)
                byIndex[batch.Indices[i]] = new ImagePrediction(batch.Paths[i], PredictionFormat.TopK(probabilities[i], info.ClassNames, topK));
        });
        // The loader leaves unreadable files out of its batches and records why; each gets its own error line, in order.
        var problems = loader.Problems.ToDictionary(p => p.RelativePath, p => p.Reason, StringComparer.Ordinal);
        var predictions = images.Select((path, i) => byIndex[i] ?? ImagePrediction.Failed(path, problems.GetValueOrDefault(path) ?? "could not be read")).ToList();
        return Print(predictions, json);
    }

    static int Print(List<ImagePrediction> predictions, bool json)
    {
        Console.Write(json ? PredictionFormat.ToJson(predictions) : PredictionFormat.ToTable(predictions));
        int failed = predictions.Count(p => p.Error is not null);
        if (failed > 0) Console.Error.WriteLine($"finetune: {failed} of {predictions.Count} image(s) could not be classified (see their error lines).");
        return failed == predictions.Count ? 1 : 0;
    }

    /// <summary>The files to classify, in the order given; a folder contributes its image files (recursively), sorted.</summary>
    static List<string> ListImages(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        foreach (var argument in arguments)
        {
            if (File.Exists(argument)) { files.Add(argument); continue; }
            if (!Directory.Exists(argument))
                throw new FileNotFoundException($"'{argument}' is neither an image file nor a folder: pass the path of an image or of a folder of images.");
            var found = Directory.EnumerateFiles(argument, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                .Where(LooksLikeImage)
                .Order(StringComparer.Ordinal)
                .ToList();
            if (found.Count == 0)
                throw new FileNotFoundException($"Folder '{argument}' holds no image files (.jpg, .png, .gif, .bmp, .webp): pass a folder of images.");
            files.AddRange(found);
        }
        return files;
    }

    static bool LooksLikeImage(string path)
    {
        if (ImageExtensions.Contains(Path.GetExtension(path))) return true;
        try { return ImageFormatSniffer.Sniff(path) != ImageFormat.Unknown; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
