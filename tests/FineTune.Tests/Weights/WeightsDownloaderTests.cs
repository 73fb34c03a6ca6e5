using System.Security.Cryptography;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>Downloads against a server on 127.0.0.1: the hash prefix in the file name is enforced and the cache is written atomically.</summary>
[Collection(EnvironmentCollection.Name)]
public class WeightsDownloaderTests
{
    static readonly byte[] Payload = RandomNumberGenerator.GetBytes(3 << 20); // bigger than one read buffer

    static string NameWithHashOf(byte[] content) => $"resnet18-{Convert.ToHexStringLower(SHA256.HashData(content))[..8]}.pth";

    [Fact]
    public void A_good_file_is_downloaded_verified_and_renamed_into_place()
    {
        var name = NameWithHashOf(Payload);
        using var server = new LocalHttpServer(new() { [name] = Payload });
        using var cache = new TempFolder();
        var path = TorchvisionFiles.Download(name, cache.Path, server.BaseUrl);
        Assert.Equal(cache.File(name), path);
        Assert.Equal(Payload, File.ReadAllBytes(path));
        Assert.Equal([name], Directory.GetFiles(cache.Path).Select(Path.GetFileName)); // no temporary file left
    }

    [Fact]
    public void A_file_whose_hash_does_not_match_its_name_is_discarded_with_both_hashes()
    {
        const string name = "resnet18-00000000.pth";
        using var server = new LocalHttpServer(new() { [name] = Payload });
        using var cache = new TempFolder();
        var e = Assert.Throws<WeightsDownloadException>(() => TorchvisionFiles.Download(name, cache.Path, server.BaseUrl));
        Assert.Contains(name, e.Message);
        Assert.Contains("00000000", e.Message);
        Assert.Contains(Convert.ToHexStringLower(SHA256.HashData(Payload)), e.Message);
        Assert.Empty(Directory.GetFiles(cache.Path));
    }

    [Fact]
    public void A_404_names_the_url_and_where_to_put_the_file()
    {
        using var server = new LocalHttpServer(new());
        using var cache = new TempFolder();
        var e = Assert.Throws<WeightsNotFoundException>(() => TorchvisionFiles.Download("resnet34-b627a593.pth", cache.Path, server.BaseUrl));
        Assert.Contains("404", e.Message);
        Assert.Contains(server.BaseUrl + "resnet34-b627a593.pth", e.Message);
        Assert.Contains(cache.File("resnet34-b627a593.pth"), e.Message);
        Assert.Empty(Directory.GetFiles(cache.Path));
    }

    [Fact]
    public void No_network_names_the_url_and_where_to_put_the_file()
    {
        using var cache = new TempFolder();
        var baseUrl = LocalHttpServer.UnreachableBaseUrl();
        var e = Assert.Throws<WeightsNotFoundException>(() => TorchvisionFiles.Download("resnet50-11ad3fa6.pth", cache.Path, baseUrl));
        Assert.Contains(baseUrl + "resnet50-11ad3fa6.pth", e.Message);
        Assert.Contains(cache.File("resnet50-11ad3fa6.pth"), e.Message);
    }

    [Fact]
    public void The_download_choice_fetches_the_official_file_name_from_the_base_url_in_the_environment()
    {
        // The server holds a real state dict under the official name; its hash cannot be f37072fd, so the check must refuse it.
        using var cache = new TempFolder();
        var source = cache.File("made.pth");
        var state = TestFiles.StateDict("resnet18");
        try { TestFiles.SavePth(source, state); } finally { TestFiles.Dispose(state); }
        using var server = new LocalHttpServer(new() { ["resnet18-f37072fd.pth"] = File.ReadAllBytes(source) });
        var target = Path.Combine(cache.Path, "downloads");

        var before = Environment.GetEnvironmentVariable(TorchvisionFiles.BaseUrlVariable);
        Environment.SetEnvironmentVariable(TorchvisionFiles.BaseUrlVariable, server.BaseUrl);
        try
        {
            var e = Assert.Throws<WeightsDownloadException>(() => WeightsCatalog.Resolve("resnet18", "download", target));
            Assert.Contains("resnet18-f37072fd.pth", e.Message);
            Assert.Contains("f37072fd", e.Message);
        }
        finally { Environment.SetEnvironmentVariable(TorchvisionFiles.BaseUrlVariable, before); }
        Assert.Equal(["/models/resnet18-f37072fd.pth"], server.Requests);
        Assert.False(File.Exists(Path.Combine(target, "resnet18-f37072fd.pth")));
    }
}
