using FineTune.Native;

namespace FineTune.Models;

/// <summary>Raised for a backbone name the factory does not know.</summary>
public sealed class UnknownBackboneException(string message) : FineTuneException(message);

/// <summary>The one door to a model (after timm's create_model): backbone name + classes in, module out (with weights: Weights/PretrainedModel.cs).</summary>
public static class ModelFactory
{
    /// <summary>torchvision's ResNets, by the names a config may give (<see cref="Config.ModelConfig.Backbones"/>).</summary>
    public static IReadOnlyDictionary<string, ResNetArchitecture> Backbones { get; } = new Dictionary<string, ResNetArchitecture>
    {
        ["resnet18"] = new(BlockKind.Basic, [2, 2, 2, 2]),
        ["resnet34"] = new(BlockKind.Basic, [3, 4, 6, 3]),
        ["resnet50"] = new(BlockKind.Bottleneck, [3, 4, 6, 3]),
        ["resnet101"] = new(BlockKind.Bottleneck, [3, 4, 23, 3]),
        ["resnet152"] = new(BlockKind.Bottleneck, [3, 8, 36, 3]),
    };

    public static ResNetArchitecture ArchitectureOf(string backbone) =>
        Backbones.TryGetValue(backbone.Trim().ToLowerInvariant(), out var arch)
            ? arch
            : throw new UnknownBackboneException($"Unknown backbone '{backbone}': choose one of {string.Join(", ", Backbones.Keys)}.");

    public static string? NameOf(ResNetArchitecture arch) =>
        Backbones.FirstOrDefault(kv => kv.Value.Block == arch.Block && kv.Value.Layers.SequenceEqual(arch.Layers)).Key;

    /// <summary>
    /// <paramref name="backbone"/> from scratch for <paramref name="numClasses"/> classes, its kernels run by
    /// <paramref name="routing"/> (default: libtorch's own). Pretrained weights: Weights/PretrainedModel.cs.
    /// </summary>
    public static ResNet Create(string backbone, int numClasses, KernelRouting? routing = null)
    {
        TorchNative.EnsureLoaded();
        var model = new ResNet(ArchitectureOf(backbone), numClasses, routing);
        model.ResetClassifier(numClasses);
        return model;
    }
}
