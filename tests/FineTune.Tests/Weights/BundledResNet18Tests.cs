using FineTune.Models;
using FineTune.Weights;
using FineTune.Weights.Bundled;
using FineTune.Weights.Onnx;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTune.Tests.Weights;

/// <summary>The bundled ResNet-18's conversion, cache and errors.</summary>
public sealed class BundledResNet18Tests(BundledWeightsFixture bundled, ITestOutputHelper output) : IClassFixture<BundledWeightsFixture>
{
    [Fact]
    public void Conversion_gives_the_keys_and_shapes_of_a_2_2_2_3_resnet_without_fc()
    {
        using var reference = new ResNet(new ResNetArchitecture(BlockKind.Basic, [2, 2, 2, 3]), 1, TestSetup.Routing);
        var expected = reference.state_dict().Where(kv => !kv.Key.StartsWith("fc.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value.shape);

        var converted = bundled.Weights.LoadStateDict();
        try
        {
            Assert.Equal(expected.Keys.Order(), converted.Keys.Order());
            foreach (var (key, shape) in expected) Assert.True(shape.SequenceEqual(converted[key].shape), $"{key}: [{string.Join(", ", converted[key].shape)}] vs [{string.Join(", ", shape)}]");
        }
        finally
        {
            foreach (var t in converted.Values) t.Dispose();
        }
        Assert.Equal(BundledResNet18.Architecture, bundled.Weights.Architecture);
        Assert.Equal(0, bundled.Weights.ClassCount);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1", bundled.Weights.Provenance);
    }

    [Fact]
    public void The_preprocessing_comes_from_the_packages_graph()
    {
        var p = bundled.Weights.Preprocessing;
        output.WriteLine(p.ToString());
        Assert.Equal((224, 255f, ChannelOrder.Bgr), (p.InputSize, p.PixelScale, p.ChannelOrder));
        Assert.Equal([1f, 1f, 1f], p.Std);
        Assert.NotNull(p.MeanImage);
        Assert.Equal((224, 224), (p.MeanImage.Height, p.MeanImage.Width));
        // docs/platform.md (Pretrained weights offline) read these off the file with python3-onnx: B 103.06, G 115.90, R 123.15.
        Assert.Equal([103.06, 115.90, 123.15], p.Mean.Select(m => Math.Round(m, 2)));
    }

    [Fact]
    public void A_second_load_reads_the_cache_instead_of_converting()
    {
        var path = bundled.Weights.CachePath();
        Assert.StartsWith(Path.Combine(bundled.CacheDir, "converted"), path);
        Assert.True(File.Exists(path));

        // A valid cache whose conv1 differs from the ONNX file can only have come from the cache.
        using var home = new TempFolder();
        var weights = BundledResNet18.TryLoad(BundledResNet18.ExpectedLocation, BundledResNet18.PreprocessingLocation, home.Path)!;
        var doctored = bundled.HostState.ToDictionary();
        doctored["conv1.weight"] = doctored["conv1.weight"] with { Values = new float[doctored["conv1.weight"].Values.Length] };
        Float32Safetensors.Write(weights.CachePath(), doctored, new Dictionary<string, string>());

        var loaded = weights.LoadHostStateDict();
        Assert.All(loaded["conv1.weight"].Values, v => Assert.Equal(0f, v));
        Assert.Equal(bundled.HostState["layer4.2.bn2.running_var"].Values, loaded["layer4.2.bn2.running_var"].Values);
    }

    [Theory]
    [InlineData("flipped byte")]
    [InlineData("truncated")]
    [InlineData("not safetensors")]
    public void A_damaged_cache_is_detected_and_rebuilt(string damage)
    {
        using var home = new TempFolder();
        var weights = BundledResNet18.TryLoad(BundledResNet18.ExpectedLocation, BundledResNet18.PreprocessingLocation, home.Path)!;
        var path = weights.CachePath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var good = File.ReadAllBytes(bundled.Weights.CachePath());
        byte[] bad = damage switch
        {
            "flipped byte" => FlipOneByte(good),
            "truncated" => good[..(good.Length / 2)],
            _ => "this is no cache"u8.ToArray(),
        };
        File.WriteAllBytes(path, bad);
        Assert.Throws<InvalidDataException>(() => Float32Safetensors.Read(path));

        var rebuilt = weights.LoadHostStateDict();

        Assert.Equal(bundled.HostState.Keys.Order(), rebuilt.Keys.Order());
        Assert.Equal(bundled.HostState["conv1.weight"].Values, rebuilt["conv1.weight"].Values);
        Assert.Equal(good, File.ReadAllBytes(path)); // rewritten whole
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp")); // written atomically, nothing left over
    }

    static byte[] FlipOneByte(byte[] file)
    {
        var copy = (byte[])file.Clone();
        copy[^1000] ^= 0x40; // inside the tensor data, past the header
        return copy;
    }

    [Fact]
    public void Missing_onnx_files_give_no_weights()
    {
        using var home = new TempFolder();
        Assert.Null(BundledResNet18.TryLoad(Path.Combine(home.Path, "ResNet18.onnx"), BundledResNet18.PreprocessingLocation, home.Path));
    }

    [Fact]
    public void A_graph_that_is_not_a_resnet_is_refused_with_a_message_naming_the_file()
    {
        var graph = OnnxReader.Read(BundledResNet18.PreprocessingLocation);
        var e = Assert.Throws<InvalidOnnxModelException>(() => OnnxResNetConverter.Convert(graph));
        output.WriteLine(e.Message);
        Assert.Contains(BundledResNet18.PreprocessingLocation, e.Message);
    }

    [Fact]
    public void A_truncated_onnx_file_is_refused_with_a_message_naming_the_file()
    {
        using var home = new TempFolder();
        var path = Path.Combine(home.Path, "ResNetPreprocess.onnx");
        var bytes = File.ReadAllBytes(BundledResNet18.PreprocessingLocation);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        var e = Assert.Throws<InvalidOnnxModelException>(() => OnnxReader.Read(path));
        output.WriteLine(e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void The_mean_image_resizes_as_torch_interpolate_does()
    {
        var image = bundled.Weights.Preprocessing.MeanImage!;
        using var scope = NewDisposeScope();
        var source = tensor(image.Values, [1, 3, image.Height, image.Width]);
        foreach (var (h, w) in new[] { (160, 160), (256, 200), (224, 224) })
        {
            var expected = nn.functional.interpolate(source, [h, w], mode: InterpolationMode.Bilinear, align_corners: false).data<float>().ToArray();
            var actual = image.ResizedTo(h, w);
            Assert.Equal(expected.Length, actual.Length);
            double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst < 1e-3, $"{h}x{w}: largest difference {worst}");
        }
    }
}
