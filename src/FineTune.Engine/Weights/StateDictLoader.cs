using System.Text.RegularExpressions;
using FineTune.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>Raised when weights do not fit a model; the message names the tensor or architecture and the fix.</summary>
public sealed class WeightsMismatchException(string message) : FineTuneException(message);

/// <summary>Copies a torchvision-style state dict into a model, checking every name and shape first.</summary>
public static partial class StateDictLoader
{
    [GeneratedRegex(@"^layer([1-4])\.(\d+)\.")]
    private static partial Regex BlockKey();

    /// <summary>The ResNet shape a state dict describes (block kind from conv3, stage depths from block indices).</summary>
    public static ResNetArchitecture? InferArchitecture(IEnumerable<string> keys)
    {
        var list = keys.ToList();
        var depths = new int[4];
        foreach (var key in list)
        {
            var m = BlockKey().Match(key);
            if (!m.Success) continue;
            int stage = int.Parse(m.Groups[1].Value) - 1, block = int.Parse(m.Groups[2].Value);
            depths[stage] = Math.Max(depths[stage], block + 1);
        }
        if (depths.Any(d => d == 0)) return null;
        var kind = list.Any(k => k.StartsWith("layer1.0.conv3.", StringComparison.Ordinal)) ? BlockKind.Bottleneck : BlockKind.Basic;
        return new ResNetArchitecture(kind, depths);
    }

    /// <summary>
    /// Loads <paramref name="source"/> into <paramref name="model"/>. With <paramref name="skipClassifier"/> the
    /// fc.* tensors are neither required nor copied (a new head for other classes).
    /// </summary>
    public static void Load(ResNet model, IReadOnlyDictionary<string, Tensor> source, string sourceName, bool skipClassifier)
    {
        var inferred = InferArchitecture(source.Keys);
        if (inferred is not null && (inferred.Block != model.Architecture.Block || !inferred.Layers.SequenceEqual(model.Architecture.Layers)))
            throw new WeightsMismatchException(
                $"{sourceName} holds a ResNet with {inferred} blocks, but the model is {model.Architecture}: choose the backbone these weights were made for ({ModelFactory.NameOf(inferred) ?? "a custom layout"}).");

        static bool Optional(string key) => key.EndsWith("num_batches_tracked", StringComparison.Ordinal);
        bool Skip(string key) => skipClassifier && key.StartsWith("fc.", StringComparison.Ordinal);

        var target = model.state_dict();
        var missing = target.Keys.Where(k => !Skip(k) && !Optional(k) && !source.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new WeightsMismatchException(
                $"{sourceName} lacks {missing.Count} tensor(s) the model needs, first {missing[0]}: these are not weights for {model.Architecture} ResNet.");
        var unexpected = source.Keys.Where(k => !Skip(k) && !Optional(k) && !target.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
            throw new WeightsMismatchException(
                $"{sourceName} holds {unexpected.Count} tensor(s) the model does not have, first {unexpected[0]}: these are weights of another architecture.");

        foreach (var (key, dest) in target)
        {
            if (Skip(key) || !source.TryGetValue(key, out var value)) continue;
            if (!dest.shape.SequenceEqual(value.shape))
                throw new WeightsMismatchException(
                    $"Tensor {key} in {sourceName} has shape [{string.Join(", ", value.shape)}], but the model expects [{string.Join(", ", dest.shape)}].");
        }
        using (no_grad())
        {
            foreach (var (key, dest) in target)
            {
                if (Skip(key) || !source.TryGetValue(key, out var value)) continue;
                dest.copy_(value.to(dest.dtype));
            }
        }
    }
}
