using FineTune.Config;
using FineTune.Models;
using FineTune.Training;
using FineTune.Training.Checkpoints;

namespace FineTune.Export;

public enum ExportFormat { Pth, Onnx }

/// <summary>
/// `finetune export`: a checkpoint's model as ONNX (preprocessing inside the graph) or as a PyTorch state dict with
/// its JSON manifest. Refuses to overwrite unless asked, and leaves no partial file behind on any failure.
/// </summary>
public static class ModelExport
{
    /// <summary>The files written, in order.</summary>
    public static IReadOnlyList<string> Run(string checkpointPath, string output, ExportFormat format, bool overwrite)
    {
        var outputs = format == ExportFormat.Onnx ? [output] : new[] { output, PyTorchManifest.PathFor(output) };
        if (!overwrite && outputs.FirstOrDefault(File.Exists) is { } existing)
            throw new OutputNotWritableException($"'{existing}' already exists: pass --force to replace it, or choose another --output.");
        for (var parent = Path.GetDirectoryName(Path.GetFullPath(output)); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
            if (File.Exists(parent))
                throw new OutputNotWritableException($"Cannot write '{output}': '{parent}' is a file, not a folder; choose an --output in a folder you can write to.");
        if (outputs.FirstOrDefault(Directory.Exists) is { } folder)
            throw new OutputNotWritableException($"'{folder}' is a folder: --output takes a file name, such as {Path.Combine(folder, format == ExportFormat.Onnx ? "model.onnx" : "model.pth")}.");

        var checkpoint = CheckpointFile.Load(checkpointPath);
        var source = ExportSource.FromCheckpoint(checkpoint);
        using var model = LoadModel(checkpoint);
        model.eval();
        var written = new List<string>();
        try
        {
            if (format == ExportFormat.Onnx)
            {
                OnnxExport.Save(model, source, output);
                written.Add(output);
            }
            else
            {
                PyTorchExport.Save(model, output);
                written.Add(output);
                PyTorchManifest.Save(source, output, outputs[1]);
                written.Add(outputs[1]);
            }
            return written;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A .pth without its manifest would be the unfaithful export this command replaces: take it back.
            foreach (var path in written) TryDelete(path);
            throw new OutputNotWritableException($"Cannot write '{output}' ({e.Message}): choose an --output in a folder you can write to.");
        }
    }

    /// <summary>How `finetune predict` ends its precision line when it computes a checkpoint in bf16.</summary>
    public const string Bf16PredictNote = "exports of this checkpoint (finetune export) compute in fp32: --precision fp32 gives their numbers";

    /// <summary>What export's output adds about how the export differs from the checkpoint it came from (the file is read once).</summary>
    public static IEnumerable<string> Notes(string checkpointPath)
    {
        var settings = EvaluationSettings.Of(CheckpointFile.Load(checkpointPath).Info, checkpointPath).Settings;
        return new[] { PrecisionNote(settings), FlipNote(settings) }.OfType<string>();
    }

    /// <summary>
    /// A sentence when `finetune predict` on the checkpoint would compute in bf16 here (its training.precision,
    /// resolved for this CPU) while the export, like every export, computes in fp32; else null.
    /// </summary>
    static string? PrecisionNote(EvaluationSettings settings)
    {
        var trained = settings.Precision;
        if (Precision.ForThisMachine(trained, KernelRouting.Default).Precision != ComputePrecision.Bf16) return null;
        return $"Precision: this export computes in fp32, while `finetune predict` on the checkpoint computes in bf16 here (training.precision: {trained.ToName()}), "
               + "so their probabilities differ slightly (up to about 0.01); `finetune predict --precision fp32` on the checkpoint gives the export's numbers.";
    }

    /// <summary>
    /// A sentence when the checkpoint was evaluated with mirror images (data.augmentation.eval_flip), which an export
    /// does not do (it classifies each image once, as any ONNX or PyTorch consumer calls it); else null.
    /// </summary>
    public static string? FlipNote(EvaluationSettings settings)
    {
        if (!settings.Flip) return null;
        return "Flip: this export classifies each image once, while validation, `finetune test` and `finetune predict` on the checkpoint average it with its mirror image "
               + "(data.augmentation.eval_flip), so its accuracy can be a little lower (on Caltech-101, 0.15 points for the fast recipe's model: docs/results.md).";
    }

    /// <summary>The checkpoint's model; tensors that do not fit its recorded architecture mean the file is damaged.</summary>
    static Models.ResNet LoadModel(CheckpointFile checkpoint)
    {
        try { return checkpoint.CreateModel(); }
        catch (Exception e) when (e is not CheckpointException and not Native.NativeLibraryException)
        {
            throw new CheckpointException($"'{checkpoint.Path}' holds model tensors that cannot be read ({e.Message.Split('\n')[0]}): the file is damaged; export another checkpoint or train again.");
        }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
