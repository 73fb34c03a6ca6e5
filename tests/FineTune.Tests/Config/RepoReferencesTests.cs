using Xunit;

namespace FineTune.Tests.Config;

/// <summary>What the repository cites, it holds: a reader of a clone has nothing else.</summary>
public sealed class RepoReferencesTests
{
    /// <summary>
    /// The platform notes once lived in a file outside the repository, which README, comments, tests and CI cited;
    /// they are docs/platform.md now. Spelled in two parts so this file does not cite the old name itself.
    /// </summary>
    [Fact]
    public void No_file_cites_the_platform_notes_outside_the_repository()
    {
        var old = "PLATFORM" + ".md";
        var citing = RepoFiles.Tracked()
            .Where(f => File.Exists(RepoFiles.Path(f)) && File.ReadAllText(RepoFiles.Path(f)).Contains(old, StringComparison.Ordinal))
            .ToList();
        Assert.True(citing.Count == 0, $"{string.Join(", ", citing)} cite {old}, which is not in the repository: cite docs/platform.md instead.");
        Assert.True(File.Exists(RepoFiles.Path("docs", "platform.md")), "docs/platform.md is missing");
    }
}
