using System.Text.RegularExpressions;

namespace FineTune.Comparison;

/// <summary>Display names for backbones, as the seed's table writes them ("resnet18" -> "ResNet-18").</summary>
public static partial class BackboneNames
{
    [GeneratedRegex(@"^resnet(\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex ResNet();

    public static string Display(string backbone) =>
        ResNet().Match(backbone) is { Success: true } m ? $"ResNet-{m.Groups[1].Value}" : backbone;

    /// <summary>The layer count of a ResNet (for ordering), or int.MaxValue for anything else.</summary>
    public static int Depth(string backbone) =>
        ResNet().Match(backbone) is { Success: true } m && int.TryParse(m.Groups[1].Value, out var depth) ? depth : int.MaxValue;

    public static string Mode(TrainingMode mode) => mode == TrainingMode.Finetune ? "pretrained, fine-tuned" : "random init, from scratch";

    public static string Model(string backbone, TrainingMode mode) => $"{Display(backbone)} ({Mode(mode)})";
}
