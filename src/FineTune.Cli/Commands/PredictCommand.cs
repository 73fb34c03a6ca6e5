using FineTune.Prediction;
using FineTune.Cli.Output;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune predict --model_path P IMAGE|FOLDER... [--topk 5] [--json] [--out F.csv] [--report F.html] [--gpu 0]`: the
/// top classes of each image, printed as a table or JSON, or written to a CSV and an HTML gallery (<see cref="PredictionReport"/>).
/// Needs no dataset or config: class names, preprocessing and image size come from the checkpoint, or from the
/// metadata of an .onnx file written by `finetune export --format onnx` (run by ONNX Runtime, without libtorch): <see cref="Classifier"/>.
/// </summary>
public static class PredictCommand
{
    public static int Run(CommandLine cl)
    {
        var modelPath = cl.Require("model_path", "the checkpoint to predict with, e.g. outputs/checkpoints/resnet18_finetune/checkpoint_best.ckpt");
        int topK = cl.GetInt("topk", 5);
        bool json = cl.Flag("json");
        var csv = cl.Get("out");
        var report = cl.Get("report");
        var gpu = cl.Get("gpu");
        int batchSize = cl.GetInt("batch_size", 16);
        var precisionText = cl.Get("precision");
        cl.RejectUnknown("predict");
        var requested = PrecisionOption.Read(precisionText);
        if (topK < 1) throw new UsageException($"--topk must be 1 or more; got {topK}.");
        if (batchSize < 1) throw new UsageException($"--batch_size must be 1 or more; got {batchSize}.");
        if (cl.Positionals.Count == 0) throw new UsageException("Name an image or a folder of images to classify: finetune predict --model_path P IMAGE|FOLDER.");
        if (json && (csv ?? report) is not null) throw new UsageException("--json prints to the console and --out/--report write files: use one or the other.");

        var images = ImageFiles.From(cl.Positionals);
        var classifier = Classifier.Load(modelPath, new ClassifierOptions { Gpu = gpu, Precision = requested, BatchSize = batchSize, Logger = ConsoleOutput.ToStderr() });
        using (classifier)
        {
            if (csv is null && report is null) return Print(classifier.Predict([.. images.Select(i => i.File)], topK), json);
            var written = PredictionReport.Write(classifier, images, new PredictionReportOptions { CsvPath = csv, HtmlPath = report, TopK = topK, Logger = ConsoleOutput.ToStderr() });
            return Summarise(written);
        }
    }

    static int Print(List<ImagePrediction> predictions, bool json)
    {
        Console.Write(json ? PredictionFormat.ToJson(predictions) : PredictionFormat.ToTable(predictions));
        int failed = predictions.Count(p => p.Error is not null);
        if (failed > 0) Console.Error.WriteLine($"finetune: {failed} of {predictions.Count} image(s) could not be classified (see their error lines).");
        return failed == predictions.Count ? 1 : 0;
    }

    /// <summary>One line: what was written, how many images, how many failed. Only a run where nothing could be classified fails.</summary>
    static int Summarise(PredictionReportSummary s)
    {
        var files = string.Join(" and ", new[] { s.CsvPath, s.HtmlPath }.OfType<string>());
        var failed = s.Failed == 0 ? "" : $"; {s.Failed} could not be read (error rows{(s.CsvPath is null ? "" : " in the CSV")}{(s.HtmlPath is null ? "" : ", listed in the page")})";
        var shown = s.HtmlPath is null || s.Shown == s.Images - s.Failed ? "" : $"; the page shows the {s.Shown} least confident";
        Console.WriteLine($"Wrote {files}: {s.Images} image(s){failed}{shown}.");
        return s.Failed == s.Images ? 1 : 0;
    }
}
