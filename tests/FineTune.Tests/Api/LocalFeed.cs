using FineTune.Tests.Config;

namespace FineTune.Tests.Api;

/// <summary>
/// A NuGet feed in a folder holding this repository's packages (src/NAME/NAME.csproj, package id NAME), packed at a
/// version of their own so the package cache never hands back an older build; disposing removes that version from the
/// cache again, as it was for one test only.
/// </summary>
sealed class LocalFeed : IDisposable
{
    readonly string[] _packages;

    public string Folder { get; }
    public string Version { get; } = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public LocalFeed(string dir, params string[] packages)
    {
        (_packages, Folder) = (packages, Path.Combine(dir, "feed"));
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        foreach (var name in packages)
        {
            Processes.Run("dotnet", ["pack", RepoFiles.Path("src", name, name + ".csproj"), "-c", configuration,
                $"-p:PackageVersion={Version}", "-o", Folder, "-v", "q", "-nologo"], dir).Succeeded();
            Xunit.Assert.True(File.Exists(Path.Combine(Folder, $"{name}.{Version}.nupkg")), $"dotnet pack wrote no {name}.{Version}.nupkg");
        }
    }

    /// <summary>Copies a sample's project and program out of the repository into <paramref name="dir"/>/NAME, where no Directory.Build.props or central versions reach.</summary>
    public static string CopySample(string dir, string name)
    {
        var source = Path.Combine(dir, name);
        Directory.CreateDirectory(source);
        foreach (var file in new[] { name + ".csproj", "Program.cs" })
            File.Copy(RepoFiles.Path("samples", name, file), Path.Combine(source, file));
        return source;
    }

    public void Dispose()
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var name in _packages)
        {
            var restored = Path.Combine(cache, name.ToLowerInvariant(), Version);
            if (Directory.Exists(restored)) Directory.Delete(restored, recursive: true);
        }
    }
}
