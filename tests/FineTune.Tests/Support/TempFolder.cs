// In FineTune.Tests (not .Support) so every test folder's namespace sees it without a using line.
namespace FineTune.Tests;

/// <summary>A fresh folder under the system temp directory, deleted with its content on dispose.</summary>
sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("finetune-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}

/// <summary>
/// Scratch folders that live as long as the test run: one root per test process, removed when it exits. The test
/// host is often ended without running exit handlers, so each run also removes the roots of earlier runs whose
/// process is gone.
/// </summary>
static class TestRunFolder
{
    static readonly Lazy<string> Root = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "finetune-tests");
        if (Directory.Exists(parent))
            foreach (var old in Directory.GetDirectories(parent))
                if (int.TryParse(Path.GetFileName(old).Split('-')[0], out var pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                    TryDelete(old);
        var root = Path.Combine(parent, $"{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    /// <summary>
    /// A fresh folder named after <paramref name="tag"/>. Made by a test, it is removed when that test ends (see
    /// <see cref="TestScope"/>): a whole run keeps a checkpoint or two per test and filled 21 GB of /tmp, enough to
    /// run a CI host's disk out. Made while filling a cache (a Lazy, a static initializer) or outside any test, it
    /// lives as long as the run's root.
    /// </summary>
    public static string New(string tag = "t")
    {
        var dir = Path.Combine(Root.Value, $"{tag}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(dir);
        TestScope.Claim(dir);
        return dir;
    }

    /// <summary>Removes a folder whose test has ended; a file still open there is left for the run's end.</summary>
    internal static void Remove(string folder) => TryDelete(folder);

    static void TryDelete(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
