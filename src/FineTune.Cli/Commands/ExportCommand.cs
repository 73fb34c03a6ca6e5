using FineTune.Export;
using FineTune.Prediction;

namespace FineTune.Cli.Commands;

/// <summary>
/// `finetune export --model_path P [--format pth|onnx] [--output F] [--force]`: a checkpoint's model for other runtimes.
/// onnx: one graph with the preprocessing inside (any ONNX runtime needs only a resize). pth: a PyTorch state dict and,
/// beside it, a JSON manifest (architecture, preprocessing, eval resize, classes) that tools/pytorch/load_export.py rebuilds.
/// </summary>
public static class ExportCommand
{


    public static int Run(CommandLine cl)
    {
        var modelPath = cl.Require("model_path", "the checkpoint to export, e.g. outputs/checkpoints/NAME/checkpoint_best.ckpt");
        var formatText = (cl.Get("format") ?? "pth").ToLowerInvariant();
        var format = formatText switch
        {
            "pth" => ExportFormat.Pth,
            "onnx" => ExportFormat.Onnx,
            _ => throw new UsageException($"--format takes pth or onnx; got '{formatText}'."),
        };
        var output = cl.Get("output") ?? Path.ChangeExtension(modelPath, format == ExportFormat.Onnx ? ".onnx" : ".pth");
        bool force = cl.Flag("force");
        cl.RejectUnknown("export");

        var written = ModelExport.Run(modelPath, output, format, force);
        if (format == ExportFormat.Onnx)
        {
            Console.WriteLine($"Wrote {output}: input {OnnxModelFile.InputName} (float32 RGB 0..1, NCHW, resized as its metadata says), outputs logits and probabilities; "
                              + "the model's preprocessing is inside the graph.");
            Console.WriteLine($"Run it: finetune predict --model_path {output} IMAGE, or samples/OnnxClassify (C#, ONNX Runtime).");
        }
        else
        {
            Console.WriteLine($"Wrote {written[0]} (PyTorch state dict) and {written[1]} (architecture, preprocessing, eval resize, class names).");
            Console.WriteLine($"Load both in Python: python3 tools/pytorch/load_export.py {written[0]} IMAGE..., "
                              + "or `from load_export import load; model, preprocess, classes = load(path)`.");
        }
        foreach (var note in ModelExport.Notes(modelPath)) Console.WriteLine(note);
        return 0;
    }
}
