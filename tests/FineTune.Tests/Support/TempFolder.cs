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

    /// <summary>A fresh folder named after <paramref name="tag"/>, removed with the run's root.</summary>
    public static string New(string tag = "t")
    {
        var dir = Path.Combine(Root.Value, $"{tag}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static void TryDelete(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
