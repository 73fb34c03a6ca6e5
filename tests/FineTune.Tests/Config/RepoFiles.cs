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

    /// <summary>
    /// The checkout's files, relative to <see cref="Root"/>: git's tracked files, or, outside a git checkout (a source
    /// archive), every file but build outputs and dot-folders.
    /// </summary>
    public static IReadOnlyList<string> Tracked()
    {
        try
        {
            var git = Processes.Run("git", ["-C", Root, "ls-files", "-z"]);
            if (git.Code == 0) return git.Out.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (System.ComponentModel.Win32Exception) { } // no git on PATH
        static bool Skipped(string part) => part.StartsWith('.') || part is "bin" or "obj";
        return [.. Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(Root, f))
            .Where(f => !f.Split(System.IO.Path.DirectorySeparatorChar).SkipLast(1).Any(Skipped))];
    }
}
