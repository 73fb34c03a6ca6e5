using FineTune.Native;
using FineTune.Training.Checkpoints;

namespace FineTune.Cli.Commands;

/// <summary>`finetune export --model_path P [--output F]`: a checkpoint's model as a PyTorch state dict (.pth).</summary>
public static class ExportCommand
{
    public static int Run(CommandLine cl)
    {
        var modelPath = cl.Require("model_path", "the checkpoint to export, e.g. outputs/checkpoints/NAME/checkpoint_best.ckpt");
        var output = cl.Get("output") ?? Path.ChangeExtension(modelPath, ".pth");
        cl.RejectUnknown("export");
        TorchNative.EnsureLoaded();
        PyTorchExport.FromCheckpoint(modelPath, output);
        Console.WriteLine($"Wrote {output}: load it in Python with model.load_state_dict(torch.load('{output}')).");
        return 0;
    }
}
