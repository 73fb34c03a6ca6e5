using FineTune.Models;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>Finding torchvision files by their official names, and every error a user can meet on the way.</summary>
[Collection(EnvironmentCollection.Name)]
public class WeightsCatalogTests
{
    [Fact]
    public void Unknown_backbone_names_the_choices()
    {
        using var cache = new TempFolder();
        var e = Assert.Throws<UnknownBackboneException>(() => WeightsCatalog.Resolve("resnet19", "auto", cache.Path));
        Assert.Contains("resnet19", e.Message);
        Assert.Contains("resnet18", e.Message);
    }

    [Theory]
    [InlineData("resnet50", "auto", "resnet50-11ad3fa6.pth")]
    [InlineData("resnet152", "torchvision", "resnet152-f82ba261.pth")]
    public void A_missing_file_names_the_expected_path_and_the_url(string backbone, string choice, string file)
    {
        using var cache = new TempFolder();
        var e = Assert.Throws<WeightsNotFoundException>(() => WeightsCatalog.Resolve(backbone, choice, cache.Path));
        Assert.Contains(Path.Combine(cache.Path, file), e.Message);
        Assert.Contains("https://download.pytorch.org/models/" + file, e.Message);
    }

    [Fact]
    public void A_path_that_does_not_exist_lists_the_choices()
    {
        using var cache = new TempFolder();
        var e = Assert.Throws<WeightsNotFoundException>(() => WeightsCatalog.Resolve("resnet18", cache.File("nope.pth"), cache.Path));
        Assert.Contains("nope.pth", e.Message);
        Assert.Contains("download", e.Message);
    }

    [Fact]
    public void Bundled_weights_for_another_backbone_say_they_exist_only_for_resnet18()
    {
        using var cache = new TempFolder();
        var e = Assert.Throws<WeightsNotFoundException>(() => WeightsCatalog.Resolve("resnet34", "bundled", cache.Path));
        Assert.Contains("only for resnet18", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("hub/checkpoints")]
    public void An_official_file_in_the_cache_is_found_and_described(string subfolder)
    {
        using var cache = new TempFolder();
        var folder = Directory.CreateDirectory(Path.Combine(cache.Path, subfolder)).FullName;
        var state = TestFiles.StateDict("resnet18");
        try { TestFiles.SavePth(Path.Combine(folder, "resnet18-f37072fd.pth"), state); } finally { TestFiles.Dispose(state); }

        var w = WeightsCatalog.Resolve("resnet18", "auto", cache.Path);
        Assert.IsType<TorchvisionWeights>(w);
        Assert.Equal("ResNet18_Weights.IMAGENET1K_V1", w.Name);
        Assert.Equal(Path.Combine(folder, "resnet18-f37072fd.pth"), w.Provenance);
        Assert.Equal(1000, w.ClassCount);
        Assert.Equal(Preprocessing.ImageNet, w.Preprocessing);
        Assert.Equal(ModelFactory.Backbones["resnet18"].Layers, w.Architecture.Layers);

        var listed = WeightsCatalog.List(cache.Path).Single(l => l.Name == "ResNet18_Weights.IMAGENET1K_V1");
        Assert.True(listed.Available);
        Assert.Equal(w.Provenance, listed.Where);
    }

    [Fact]
    public void The_list_shows_every_official_file_missing_with_its_path_and_the_bundled_model()
    {
        using var cache = new TempFolder();
        var list = WeightsCatalog.List(cache.Path);
        Assert.Equal(8, list.Count(l => l.Name.Contains("_Weights.")));
        var r50 = list.Single(l => l.Name == "ResNet50_Weights.IMAGENET1K_V2");
        Assert.False(r50.Available);
        Assert.Contains(Path.Combine(cache.Path, "resnet50-11ad3fa6.pth"), r50.Where);
        Assert.Contains("https://download.pytorch.org/models/resnet50-11ad3fa6.pth", r50.Where);
        var bundled = list.Single(l => l.Name.StartsWith("Bundled"));
        Assert.Equal("resnet18", bundled.Backbone);
        Assert.Equal(File.Exists(BundledResNet18.ExpectedLocation), bundled.Available);
    }

    [Fact]
    public void Weights_of_another_architecture_name_it()
    {
        using var cache = new TempFolder();
        var path = cache.File("resnet50.safetensors");
        var state = TestFiles.StateDict("resnet50");
        try { TestFiles.SaveSafetensors(path, state); } finally { TestFiles.Dispose(state); }
        var e = Assert.Throws<WeightsMismatchException>(() => WeightsCatalog.Resolve("resnet18", path, cache.Path));
        Assert.Contains("resnet50", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_named_with_both_shapes()
    {
        using var cache = new TempFolder();
        var path = cache.File("resnet18-edited.pth");
        var state = TestFiles.StateDict("resnet18");
        try
        {
            state["layer2.1.conv2.weight"].Dispose();
            state["layer2.1.conv2.weight"] = TorchSharp.torch.zeros(128, 128, 5, 5);
            TestFiles.SavePth(path, state);
        }
        finally { TestFiles.Dispose(state); }
        var weights = WeightsCatalog.Resolve("resnet18", path, cache.Path);
        var e = Assert.Throws<WeightsMismatchException>(() => PretrainedModel.Create("resnet18", weights, 1000, TestSetup.Routing));
        Assert.Contains("layer2.1.conv2.weight", e.Message);
        Assert.Contains("[128, 128, 5, 5]", e.Message);
        Assert.Contains("[128, 128, 3, 3]", e.Message);
    }

    [Fact]
    public void A_file_without_resnet_tensors_says_so()
    {
        using var cache = new TempFolder();
        var path = cache.File("other.pth");
        var state = new Dictionary<string, TorchSharp.torch.Tensor> { ["encoder.weight"] = TorchSharp.torch.ones(3, 3) };
        try { TestFiles.SavePth(path, state); } finally { TestFiles.Dispose(state); }
        var e = Assert.Throws<WeightsFormatException>(() => WeightsCatalog.Resolve("resnet18", path, cache.Path));
        Assert.Contains("not a torchvision ResNet", e.Message);
    }
}
