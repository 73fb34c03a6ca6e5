using FineTune.Native;
using FineTune.Weights;

namespace FineTune.Models;

/// <summary>Raised for a backbone name the factory does not know.</summary>
public sealed class UnknownBackboneException(string message) : FineTuneException(message);

/// <summary>The one door to a model (after timm's create_model): backbone name + weights + classes in, module out.</summary>
public static class ModelFactory
{
    /// <summary>torchvision's ResNets.</summary>
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
    /// Builds <paramref name="backbone"/> for <paramref name="numClasses"/> classes. With weights, the
    /// architecture is the one the weights were made for (the bundled ResNet-18 has [2, 2, 2, 3]); the
    /// classifier is kept when its class count matches, otherwise replaced with a Xavier-initialised one.
    /// </summary>
    public static ResNet Create(string backbone, PretrainedWeights? weights, int numClasses)
    {
        TorchNative.EnsureLoaded();
        var arch = ArchitectureOf(backbone);
        if (weights is null)
        {
            var scratch = new ResNet(arch, numClasses);
            scratch.ResetClassifier(numClasses);
            return scratch;
        }
        if (!string.Equals(weights.Backbone, backbone, StringComparison.OrdinalIgnoreCase))
            throw new WeightsMismatchException($"Weights '{weights.Name}' are for {weights.Backbone}, not {backbone}: pick weights made for {backbone}.");

        var model = new ResNet(weights.Architecture, Math.Max(weights.ClassCount, 1));
        var state = weights.LoadStateDict();
        try
        {
            bool keepHead = weights.ClassCount == numClasses;
            StateDictLoader.Load(model, state, weights.Provenance, skipClassifier: !keepHead);
            if (!keepHead) model.ResetClassifier(numClasses);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
        return model;
    }
}
