using FineTune.IO;
using FineTune.Models;
using TorchSharp.PyBridge;

namespace FineTune.Training.Checkpoints;

/// <summary>
/// Writes a model as a PyTorch state dict (.pth, torch.save's zip format) with torchvision's key names, so a
/// Python user can `torchvision.models.resnet18(num_classes=N).load_state_dict(torch.load(path))`.
/// (The bundled ResNet-18 has four blocks in its last stage, so it loads into a matching ResNet, not resnet18.)
/// </summary>
public static class PyTorchExport
{
    public static void Save(ResNet model, string path) =>
        AtomicWrite.With(path, stream => model.save_py(stream, null, leaveOpen: true));

    /// <summary>Exports the model of checkpoint <paramref name="checkpointPath"/> to <paramref name="pthPath"/>.</summary>
    public static void FromCheckpoint(string checkpointPath, string pthPath)
    {
        var checkpoint = CheckpointFile.Load(checkpointPath);
        using var model = checkpoint.CreateModel();
        Save(model, pthPath);
    }
}
