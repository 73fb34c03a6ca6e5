using System.Text.RegularExpressions;
using FineTune.IO;

namespace FineTune.Weights;

/// <summary>One file torchvision publishes: the weights enum it belongs to and its official file name.</summary>
public sealed record TorchvisionFile(string Backbone, string WeightsName, string FileName, bool IsDefault)
{
    /// <summary>torch.hub's convention: the hex digits after the last '-' start the file's SHA-256.</summary>
    public string Sha256Prefix => TorchvisionFiles.HashPrefixOf(FileName)!;

    public string UrlAt(string baseUrl) => baseUrl.TrimEnd('/') + "/" + FileName;
}

/// <summary>torchvision's ImageNet ResNet files (torchvision.models.resnet, 0.13+), DEFAULT first for each backbone.</summary>
public static partial class TorchvisionFiles
{
    public const string OfficialBaseUrl = "https://download.pytorch.org/models/";

    /// <summary>Overrides <see cref="OfficialBaseUrl"/> (a mirror, or a local server in tests).</summary>
    public const string BaseUrlVariable = "FINETUNE_WEIGHTS_BASE_URL";

    public static string BaseUrl =>
        Environment.GetEnvironmentVariable(BaseUrlVariable) is { Length: > 0 } url ? url : OfficialBaseUrl;

    public static IReadOnlyList<TorchvisionFile> All { get; } =
    [
        new("resnet18", "ResNet18_Weights.IMAGENET1K_V1", "resnet18-f37072fd.pth", IsDefault: true),
        new("resnet34", "ResNet34_Weights.IMAGENET1K_V1", "resnet34-b627a593.pth", IsDefault: true),
        new("resnet50", "ResNet50_Weights.IMAGENET1K_V2", "resnet50-11ad3fa6.pth", IsDefault: true),
        new("resnet50", "ResNet50_Weights.IMAGENET1K_V1", "resnet50-0676ba61.pth", IsDefault: false),
        new("resnet101", "ResNet101_Weights.IMAGENET1K_V2", "resnet101-cd907fc2.pth", IsDefault: true),
        new("resnet101", "ResNet101_Weights.IMAGENET1K_V1", "resnet101-63fe2227.pth", IsDefault: false),
        new("resnet152", "ResNet152_Weights.IMAGENET1K_V2", "resnet152-f82ba261.pth", IsDefault: true),
        new("resnet152", "ResNet152_Weights.IMAGENET1K_V1", "resnet152-394f9c45.pth", IsDefault: false),
    ];

    /// <summary>The files for <paramref name="backbone"/>, torchvision's DEFAULT first.</summary>
    public static IReadOnlyList<TorchvisionFile> For(string backbone) =>
        All.Where(f => f.Backbone == backbone).OrderByDescending(f => f.IsDefault).ToList();

    public static TorchvisionFile Default(string backbone) => For(backbone)[0];

    public static TorchvisionFile? Find(string fileName) => All.FirstOrDefault(f => f.FileName == fileName);

    /// <summary>
    /// Fetches <paramref name="fileName"/> from <paramref name="baseUrl"/> (default <see cref="BaseUrl"/>) into
    /// <paramref name="folder"/> as torch.hub does, its SHA-256 checked against the digits in its name; returns the path.
    /// Not resumable (torch.hub's behaviour): a failed download leaves nothing in the cache.
    /// </summary>
    public static string Download(string fileName, string folder, string? baseUrl = null, Action<string>? log = null)
    {
        var prefix = HashPrefixOf(fileName)
            ?? throw new ArgumentException($"'{fileName}' carries no SHA-256 prefix (name-<hex>.pth), so a download could not be checked.");
        var url = (baseUrl ?? BaseUrl).TrimEnd('/') + "/" + fileName;
        var target = Path.Combine(folder, fileName);
        var fallback = $"put {fileName} at {target} by hand (fetch {url} on a machine with network access)";
        try { return IO.Download.Fetch(new Uri(url), target, new DownloadCheck(Sha256Prefix: prefix), resumable: false, fallback, log: log); }
        catch (InvalidDataException e) { throw new WeightsDownloadException(e.Message); }
        catch (IOException e) { throw new WeightsNotFoundException(e.Message); }
    }

    [GeneratedRegex(@"-([a-f0-9]+)\.[^.]+$")]
    private static partial Regex HashInName();

    /// <summary>The SHA-256 prefix a file name carries ("resnet18-f37072fd.pth" → "f37072fd"), or null.</summary>
    public static string? HashPrefixOf(string fileName) =>
        HashInName().Match(fileName) is { Success: true } m ? m.Groups[1].Value : null;
}
