using FineTune.Models;

namespace FineTune.Weights;

/// <summary>One line of `finetune models`: a set of weights and whether it can be used offline right now.</summary>
public sealed record WeightsListing(string Name, string Backbone, string Architecture, bool Available, string Where);

/// <summary>Finds pretrained weights: torchvision files in the cache folder first, then the bundled ResNet-18.</summary>
public static class WeightsCatalog
{
    /// <summary>FINETUNE_HOME, else ~/.cache/finetune: where torchvision files and converted weights are kept.</summary>
    public static string CacheDir =>
        Environment.GetEnvironmentVariable("FINETUNE_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "finetune");

    /// <summary>
    /// Weights for <paramref name="backbone"/>: <paramref name="choice"/> is "auto" (torchvision file if cached,
    /// else bundled), "torchvision", "bundled", or a path to a .pth / .safetensors file.
    /// </summary>
    public static PretrainedWeights Resolve(string backbone, string choice = "auto")
    {
        var arch = ModelFactory.ArchitectureOf(backbone);
        _ = arch;
        throw new FileNotFoundException($"No pretrained weights for {backbone} are available yet (choice '{choice}').");
    }

    public static IReadOnlyList<WeightsListing> List() => [];
}
