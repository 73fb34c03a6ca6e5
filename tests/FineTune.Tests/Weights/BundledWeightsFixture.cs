using FineTune.Models;
using FineTune.Weights;

namespace FineTune.Tests.Weights;

/// <summary>
/// Converts the bundled ResNet-18 once per test class into a private cache folder (never the user's), and
/// builds the model from it in eval mode.
/// </summary>
public sealed class BundledWeightsFixture : IDisposable
{
    public string CacheDir { get; } = Directory.CreateTempSubdirectory("finetune-bundled-").FullName;
    public BundledResNet18Weights Weights { get; }
    public IReadOnlyDictionary<string, HostTensor> HostState { get; }
    public ResNet Model { get; }

    public BundledWeightsFixture()
    {
        Weights = BundledResNet18.TryLoad(BundledResNet18.ExpectedLocation, BundledResNet18.PreprocessingLocation, CacheDir)
            ?? throw new InvalidOperationException($"The build did not copy {BundledResNet18.ExpectedLocation} from NuGet package {BundledResNet18.PackageId}: run dotnet restore.");
        HostState = Weights.LoadHostStateDict();
        Model = PretrainedModel.Create("resnet18", Weights, 1000, TestSetup.Routing);
        Model.eval();
    }

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(CacheDir, recursive: true);
    }
}
