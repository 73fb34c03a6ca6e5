namespace FineTune.Tests.Config;

/// <summary>Finds files of the checkout (configs/, docs/) from the test's output folder.</summary>
static class RepoFiles
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FineTune.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("FineTune.slnx not found above " + AppContext.BaseDirectory);
    }

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
