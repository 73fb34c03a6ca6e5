using FineTune.Models;
using FineTune.Native;

namespace FineTune.Weights;

/// <summary><see cref="ModelFactory.Create"/> with pretrained weights: the model the weights were made for, loaded.</summary>
public static class PretrainedModel
{
    /// <summary>
    /// Builds <paramref name="backbone"/> for <paramref name="numClasses"/> classes. With weights, the
    /// architecture is the one the weights were made for (the bundled ResNet-18 has [2, 2, 2, 3]); the
    /// classifier is kept when its class count matches, otherwise replaced with a Xavier-initialised one.
    /// Without, it is <see cref="ModelFactory.Create"/>'s model from scratch.
    /// </summary>
    public static ResNet Create(string backbone, PretrainedWeights? weights, int numClasses, KernelRouting? routing = null)
    {
        if (weights is null) return ModelFactory.Create(backbone, numClasses, routing);
        TorchNative.EnsureLoaded();
        ModelFactory.ArchitectureOf(backbone); // an unknown name fails as it does without weights
        if (!string.Equals(weights.Backbone, backbone, StringComparison.OrdinalIgnoreCase))
            throw new WeightsMismatchException($"Weights '{weights.Name}' are for {weights.Backbone}, not {backbone}: pick weights made for {backbone}.");

        var model = new ResNet(weights.Architecture, Math.Max(weights.ClassCount, 1), routing);
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
