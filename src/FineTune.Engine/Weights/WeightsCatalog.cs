using FineTune.IO;
using FineTune.Models;

namespace FineTune.Weights;

/// <summary>One line of `finetune models`: a set of weights and whether it can be used offline right now.</summary>
public sealed record WeightsListing(string Name, string Backbone, string Architecture, bool Available, string Where);

/// <summary>Finds pretrained weights: torchvision files in the cache folder first, then the bundled ResNet-18.</summary>
public static class WeightsCatalog
{
    /// <summary>The choices <see cref="Resolve"/> takes besides a file path.</summary>
    public static IReadOnlyList<string> Choices { get; } = ["auto", "torchvision", "bundled", "download"];

    /// <summary>Where torchvision files and converted weights are kept: <see cref="FineTuneHome.Folder"/>.</summary>
    public static string CacheDir => FineTuneHome.Folder;

    /// <summary>Where a torchvision file is looked for: the cache folder, and its hub/checkpoints like torch.hub's.</summary>
    public static IReadOnlyList<string> SearchFolders(string cacheDir) => [cacheDir, Path.Combine(cacheDir, "hub", "checkpoints")];

    /// <summary>
    /// Weights for <paramref name="backbone"/>. <paramref name="choice"/>: "auto" (a torchvision file in the cache,
    /// else for resnet18 the bundled weights), "torchvision" (a cached torchvision file), "bundled", "download"
    /// (a cached torchvision file, else fetched from torchvision's URL and hash-checked), or a path to a .pth /
    /// .safetensors file. Only "download" touches the network. <paramref name="cacheDir"/> defaults to <see cref="CacheDir"/>.
    /// </summary>
    public static PretrainedWeights Resolve(string backbone, string choice = "auto", string? cacheDir = null, Action<string>? log = null)
    {
        ModelFactory.ArchitectureOf(backbone); // unknown backbone: one message listing the choices
        backbone = backbone.Trim().ToLowerInvariant();
        cacheDir ??= CacheDir;
        switch (choice.Trim().ToLowerInvariant())
        {
            case "auto" or "":
                if (FindCached(backbone, cacheDir) is { } cached) return TorchvisionWeights.FromFile(cached, backbone);
                if (backbone == "resnet18" && BundledResNet18.TryLoad() is { } bundled) return bundled;
                throw new WeightsNotFoundException(Missing(backbone, cacheDir) +
                    (backbone == "resnet18" ? $" The bundled ResNet-18 is not available either (expected at {BundledResNet18.ExpectedLocation})." : ""));
            case "torchvision":
                return TorchvisionWeights.FromFile(FindCached(backbone, cacheDir) ?? throw new WeightsNotFoundException(Missing(backbone, cacheDir)), backbone);
            case "bundled":
                if (backbone != "resnet18")
                    throw new WeightsNotFoundException($"Bundled weights exist only for resnet18, not {backbone}: use torchvision weights for {backbone}. {Missing(backbone, cacheDir)}");
                return BundledResNet18.TryLoad() ?? throw new WeightsNotFoundException(
                    $"The bundled ResNet-18 was not found at {BundledResNet18.ExpectedLocation}: build the program so NuGet restores package Microsoft.ML.DnnImageFeaturizer.ResNet18, or use torchvision weights.");
            case "download":
                var path = FindCached(backbone, cacheDir) ?? TorchvisionFiles.Download(TorchvisionFiles.Default(backbone).FileName, cacheDir, log: log);
                return TorchvisionWeights.FromFile(path, backbone);
            default:
                if (!File.Exists(choice))
                    throw new WeightsNotFoundException(
                        $"Weights '{choice}' not found: give {string.Join(", ", Choices)}, or the path of a torchvision .pth or .safetensors file.");
                return TorchvisionWeights.FromFile(choice, backbone);
        }
    }

    /// <summary>The first of <paramref name="backbone"/>'s torchvision files (DEFAULT first) found in the cache, or null.</summary>
    public static string? FindCached(string backbone, string cacheDir) =>
        TorchvisionFiles.For(backbone).Select(f => FindFile(f.FileName, cacheDir)).FirstOrDefault(p => p is not null);

    static string? FindFile(string fileName, string cacheDir) =>
        SearchFolders(cacheDir).Select(folder => Path.Combine(folder, fileName)).FirstOrDefault(File.Exists);

    static string Missing(string backbone, string cacheDir)
    {
        var file = TorchvisionFiles.Default(backbone);
        return $"No torchvision weights for {backbone} in {cacheDir}: put {file.FileName} at {Path.Combine(cacheDir, file.FileName)} " +
               $"(download it from {file.UrlAt(TorchvisionFiles.BaseUrl)}), or choose weights 'download' where the network is reachable.";
    }

    /// <summary>Every torchvision file and the bundled ResNet-18, with where each is (or should be put). Reads no tensors.</summary>
    public static IReadOnlyList<WeightsListing> List(string? cacheDir = null)
    {
        cacheDir ??= CacheDir;
        var list = new List<WeightsListing>();
        foreach (var (backbone, arch) in ModelFactory.Backbones)
        {
            foreach (var file in TorchvisionFiles.For(backbone))
            {
                var found = FindFile(file.FileName, cacheDir);
                list.Add(new WeightsListing(file.WeightsName, backbone, arch.ToString(), found is not null,
                    found ?? $"put at {Path.Combine(cacheDir, file.FileName)} from {file.UrlAt(TorchvisionFiles.BaseUrl)}"));
            }
            if (backbone == "resnet18")
            {
                // Availability is the package file being there; converting it just to list it would take seconds.
                var onnx = BundledResNet18.ExpectedLocation;
                list.Add(new WeightsListing("Bundled ResNet-18 (ML.NET, CNTK)", backbone,
                    new ResNetArchitecture(BlockKind.Basic, [2, 2, 2, 3]).ToString(), File.Exists(onnx), onnx));
            }
        }
        return list;
    }
}
