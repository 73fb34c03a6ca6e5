using FineTune.Models;
using FineTune.Training.Checkpoints;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

public class PyTorchExportTests
{
    [PythonFact("torch, torchvision", "python3-torch python3-torchvision")]
    public void Torchvision_resnet18_loads_the_exported_state_dict_and_gives_the_same_logits()
    {
        var dir = Tiny.TempFolder();
        var pth = Path.Combine(dir, "model.pth");
        random.manual_seed(5);
        using var model = ModelFactory.Create("resnet18", 5, TestSetup.Routing);
        PyTorchExport.Save(model, pth);

        model.eval();
        using var x = ones(1, 3, 64, 64) * 0.5f;
        using var logits = model.call(x);
        var expected = logits.data<float>().ToArray();

        var script = "import torch, torchvision; m = torchvision.models.resnet18(num_classes=5); " +
                     $"m.load_state_dict(torch.load('{pth}')); m.eval(); " +
                     "print(' '.join('%.6f' % v for v in m(torch.full((1, 3, 64, 64), 0.5))[0].tolist()))";
        Assert.True(DebianPython.Run($"-c \"{script}\"", out var output) == 0, output);
        var actual = output.Trim().Split('\n')[^1].Split(' ').Select(s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(5, actual.Length);
        for (int i = 0; i < 5; i++) Assert.Equal(expected[i], actual[i], tolerance: 1e-3f);
    }
}
