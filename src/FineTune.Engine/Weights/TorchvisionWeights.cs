using FineTune.Models;
using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>
/// A torchvision ResNet state dict in a .pth (torch.save zip) or .safetensors file: ImageNet preprocessing,
/// architecture and class count read off the tensors, provenance = the file's full path.
/// </summary>
public sealed record TorchvisionWeights : PretrainedWeights
{
    TorchvisionWeights(string name, string backbone, ResNetArchitecture architecture, int classCount, string path)
        : base(name, backbone, architecture, classCount, Preprocessing.ImageNet, path) { }

    public string FilePath => Provenance;

    /// <summary>
    /// Describes <paramref name="path"/> as weights for <paramref name="backbone"/>, checking that the file is a
    /// safe, readable state dict of that architecture. Only shapes are read here; tensors load in <see cref="LoadStateDict"/>.
    /// </summary>
    public static TorchvisionWeights FromFile(string path, string backbone)
    {
        var expected = ModelFactory.ArchitectureOf(backbone);
        backbone = backbone.Trim().ToLowerInvariant();
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new WeightsNotFoundException($"Weights file {full} does not exist: give the path of a torchvision .pth or .safetensors file.");

        var shapes = StateDictFile.ReadShapes(full);
        var found = StateDictLoader.InferArchitecture(shapes.Keys)
            ?? throw new WeightsFormatException(
                $"{full} holds no ResNet tensors (no keys such as layer1.0.conv1.weight .. layer4.0.conv1.weight): it is not a torchvision ResNet state dict.");
        if (found.Block != expected.Block || !found.Layers.SequenceEqual(expected.Layers))
        {
            var other = ModelFactory.NameOf(found);
            throw new WeightsMismatchException(
                $"{full} holds {other ?? "ResNet"} weights ({found}), not {backbone} ({expected}): " +
                (other is null ? $"use weights made for {backbone}." : $"choose backbone {other}, or weights made for {backbone}."));
        }
        int classCount = shapes.TryGetValue("fc.weight", out var fc) && fc.Length == 2 ? (int)fc[0] : 0;
        var name = TorchvisionFiles.Find(Path.GetFileName(full))?.WeightsName ?? Path.GetFileName(full);
        return new TorchvisionWeights(name, backbone, found, classCount, full);
    }

    public override Dictionary<string, Tensor> LoadStateDict() => StateDictFile.Read(FilePath);
}
