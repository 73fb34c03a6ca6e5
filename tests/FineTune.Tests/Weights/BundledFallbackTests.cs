using FineTune.Models;
using FineTune.Weights;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Weights;

/// <summary>Tests that set FINETUNE_HOME (process-wide) run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FinetuneHomeCollection
{
    public const string Name = "FINETUNE_HOME";
}

[Collection(FinetuneHomeCollection.Name)]
public sealed class BundledFallbackTests
{
    [Fact]
    public void Resnet18_builds_and_runs_offline_from_the_bundled_weights_with_a_new_head()
    {
        using var home = new TempFolder();
        var before = Environment.GetEnvironmentVariable("FINETUNE_HOME");
        Environment.SetEnvironmentVariable("FINETUNE_HOME", home.Path);
        try
        {
            var weights = BundledResNet18.TryLoad();
            Assert.NotNull(weights);
            using var model = PretrainedModel.Create("resnet18", weights, 101, TestSetup.Routing);
            model.eval();

            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var logits = model.call(weights.Preprocessing.Normalize(rand(2, 3, 112, 112)));
            Assert.Equal([2L, 101L], logits.shape);
            Assert.True(logits.isfinite().all().item<bool>());

            // The pretrained backbone was loaded (not left at random init), and its cache went to FINETUNE_HOME.
            var cache = ((BundledResNet18Weights)weights).CachePath();
            Assert.StartsWith(home.Path, cache);
            var converted = ((BundledResNet18Weights)weights).LoadHostStateDict()["layer3.1.conv2.weight"];
            Assert.Equal(converted.Values, model.state_dict()["layer3.1.conv2.weight"].data<float>().ToArray());
        }
        finally
        {
            Environment.SetEnvironmentVariable("FINETUNE_HOME", before);
        }
    }
}
