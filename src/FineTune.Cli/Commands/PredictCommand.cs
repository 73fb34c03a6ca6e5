using FineTune.Data;
using FineTune.Prediction;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune predict --model_path P IMAGE|FOLDER... [--topk 5] [--json] [--gpu 0]`: the top classes of each image.
/// Needs no dataset or config: class names, preprocessing and image size come from the checkpoint, or from the
/// metadata of an .onnx file written by `finetune export --format onnx` (run by ONNX Runtime, without libtorch): <see cref="Classifier"/>.
/// </summary>
public static class PredictCommand
{

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
        var classifier = Classifier.Load(modelPath, new ClassifierOptions { Gpu = gpu, Precision = requested, BatchSize = batchSize, Log = Console.Error });
        using (classifier) return Print(classifier.Predict(images, topK), json);
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
