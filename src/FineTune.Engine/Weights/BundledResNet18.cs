using FineTune.Models;
using FineTune.Weights.Bundled;
using FineTune.Weights.Onnx;

namespace FineTune.Weights;

/// <summary>
/// The ImageNet ResNet-18 that ships offline in NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
/// (a CNTK export, BasicBlock [2, 2, 2, 3], BGR 0-255 minus a mean image, no classifier). The build copies the
/// package's ONNX files next to the program (src/FineTune.Engine/FineTune.Engine.csproj); the first use converts
/// them to torchvision's layout and caches the result under <see cref="WeightsCatalog.CacheDir"/>/converted.
/// </summary>
public static class BundledResNet18
{
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string PackageVersion = "0.23.1";

    /// <summary>What the package holds: torchvision's BasicBlock ResNet with a third block in stage 4.</summary>
    public static ResNetArchitecture Architecture { get; } = new(BlockKind.Basic, [2, 2, 2, 3]);

    /// <summary>Where the original ONNX file is expected.</summary>
    public static string ExpectedLocation => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>The package's preprocessing graph (channel order and mean image), beside the model.</summary>
    public static string PreprocessingLocation => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The converted weights, or null when the package's ONNX file is not at hand.</summary>
    public static PretrainedWeights? TryLoad() => TryLoad(ExpectedLocation, PreprocessingLocation, WeightsCatalog.CacheDir);

    /// <summary>
    /// One of the package's files; a damaged one (truncated copy, disk error) is named with the fix that applies to a
    /// file that comes with the program, where the reader's own "restore it" would leave a user looking for it.
    /// </summary>
    internal static OnnxGraph ReadPackageFile(string path)
    {
        try { return OnnxReader.Read(path); }
        catch (InvalidOnnxModelException e)
        {
            var reason = e.InnerException?.Message ?? e.Message;
            throw new InvalidOnnxModelException(
                $"The bundled ResNet-18 file {path} is damaged ({reason}): reinstall or rebuild finetune, which copies it from NuGet package " +
                $"{PackageId} {PackageVersion}, or use torchvision weights (model.weights: torchvision, or download).", e);
        }
    }

    /// <summary>As <see cref="TryLoad()"/>, from given files and with a given cache folder.</summary>
    public static BundledResNet18Weights? TryLoad(string modelPath, string preprocessingPath, string cacheDir)
    {
        if (!File.Exists(modelPath) || !File.Exists(preprocessingPath)) return null;
        // The preprocessing graph is small (0.6 MB): read now, so the weights value carries its mean image.
        var preprocessing = OnnxPreprocessingReader.Read(ReadPackageFile(preprocessingPath));
        return new BundledResNet18Weights(Path.GetFullPath(modelPath), cacheDir, preprocessing);
    }
}

/// <summary>The bundled ResNet-18 as a weights value; the tensors are converted (or read from the cache) on demand.</summary>
public sealed record BundledResNet18Weights : PretrainedWeights
{
    public BundledResNet18Weights(string modelPath, string cacheDir, Preprocessing preprocessing)
        : base("resnet18-bundled", "resnet18", BundledResNet18.Architecture, 0, preprocessing,
            $"ImageNet ResNet-18 (CNTK export) from NuGet {BundledResNet18.PackageId} {BundledResNet18.PackageVersion}, converted by FineTune from {modelPath}")
    {
        ModelPath = modelPath;
        CacheDir = cacheDir;
    }

    /// <summary>The original ResNet18.onnx.</summary>
    public string ModelPath { get; }

    /// <summary>The folder whose converted/ subfolder holds the cache.</summary>
    public string CacheDir { get; }

    /// <summary>Bumped whenever the conversion changes, so caches made by older code are not reused.</summary>
    const string ConverterVersion = "1";

    /// <summary>The cache file for this ONNX file's content (hashes the 63 MB file).</summary>
    public string CachePath() =>
        Path.Combine(CacheDir, "converted", $"resnet18-cntk-v{ConverterVersion}-{ContentHash.Sha256Prefix(ModelPath)}.safetensors");

    public override Dictionary<string, TorchSharp.torch.Tensor> LoadStateDict() => HostTensor.ToTorchStateDict(LoadHostStateDict());

    /// <summary>The converted tensors in managed memory: from the cache when it is intact, else converted and cached.</summary>
    public IReadOnlyDictionary<string, HostTensor> LoadHostStateDict()
    {
        var cachePath = CachePath();
        if (File.Exists(cachePath))
        {
            try
            {
                return Float32Safetensors.Read(cachePath).Tensors;
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                Warn($"warning: {e.Message} Converting {ModelPath} again.");
            }
        }

        var converted = OnnxResNetConverter.Convert(BundledResNet18.ReadPackageFile(ModelPath));
        if (!converted.Architecture.Layers.SequenceEqual(Architecture.Layers) || converted.Architecture.Block != Architecture.Block)
            throw new InvalidOnnxModelException(
                $"{ModelPath} holds a {converted.Architecture} ResNet, not the {Architecture} of {BundledResNet18.PackageId} {BundledResNet18.PackageVersion}: restore that package version.");
        try
        {
            Float32Safetensors.Write(cachePath, converted.StateDict, new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["source"] = ModelPath,
                ["provenance"] = Provenance,
                ["architecture"] = converted.Architecture.ToString(),
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still usable: only the next start pays for the conversion again.
            Warn($"warning: cannot cache the converted weights at {cachePath} ({e.Message}); set FINETUNE_HOME to a writable folder.");
        }
        return converted.StateDict;
    }
}
