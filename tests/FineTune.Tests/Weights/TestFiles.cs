using System.IO.Compression;
using FineTune.Models;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace FineTune.Tests.Weights;

/// <summary>Weights files made in C#: real state dicts of our own models, written by TorchSharp.PyBridge.</summary>
static class TestFiles
{
    /// <summary>A state dict of a freshly initialised <paramref name="backbone"/> (1000 classes); the caller disposes it.</summary>
    public static Dictionary<string, Tensor> StateDict(string backbone)
    {
        using var model = ModelFactory.Create(backbone, 1000, TestSetup.Routing);
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    public static void SavePth(string path, Dictionary<string, Tensor> state) => PyTorchPickler.PickleStateDict(path, state);

    public static void SaveSafetensors(string path, Dictionary<string, Tensor> state)
    {
        using var stream = System.IO.File.Create(path);
        Safetensors.SaveStateDict(stream, state);
    }

    public static void Dispose(Dictionary<string, Tensor> state)
    {
        foreach (var t in state.Values) t.Dispose();
    }

    /// <summary>A torch.save-style zip whose data.pkl is <paramref name="pickle"/>.</summary>
    public static void SaveZipWithPickle(string path, byte[] pickle)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(pickle);
        using (var s = zip.CreateEntry("archive/version", CompressionLevel.NoCompression).Open()) s.Write("3\n"u8);
    }
}
