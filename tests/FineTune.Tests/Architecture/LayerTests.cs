using System.Text.RegularExpressions;
using FineTune.Tests.Config;
using Xunit;

namespace FineTune.Tests.Architecture;

/// <summary>
/// The engine's folders form layers with no cycles: a folder uses only folders in layers below its own. The order is
/// the one docs/architecture.md draws (its "layers" block, read here), so the picture and the test cannot drift apart.
/// </summary>
public sealed class LayerTests
{
    static readonly Lazy<(IReadOnlyList<FolderEdge> Edges, IReadOnlyList<Microsoft.CodeAnalysis.Diagnostic> Errors)> Graph =
        new(EngineDependencies.Read);

    /// <summary>docs/architecture.md's layers, bottom first; folders on one line share a layer.</summary>
    public static IReadOnlyList<string[]> Layers()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs", "architecture.md"));
        var block = Regex.Match(doc, @"<!-- layers[^>]*-->\s*```text\n(?<body>.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "docs/architecture.md has no '<!-- layers -->' block followed by a ```text block of folders");
        // Drawn top to bottom (Api first), as a reader expects; the test wants the bottom first.
        return block.Groups["body"].Value.Split('\n')
            .Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0 && !l.All(c => c is '|' or 'v' or '^' or ' '))
            .Select(l => l.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Reverse().ToList();
    }

    [Fact]
    public void Every_engine_folder_has_one_layer()
    {
        var drawn = Layers().SelectMany(l => l).ToList();
        var folders = EngineDependencies.Folders();
        Assert.True(drawn.Count == drawn.Distinct().Count(), $"a folder is drawn twice: {string.Join(", ", drawn)}");
        Assert.True(folders.Except(drawn).ToList() is [], $"not in docs/architecture.md's layers: {string.Join(", ", folders.Except(drawn))}");
        Assert.True(drawn.Except(folders).ToList() is [], $"drawn but not an engine folder: {string.Join(", ", drawn.Except(folders))}");
    }

    [Fact]
    public void The_engine_compiles_here_so_every_name_is_bound()
    {
        // The source generators (regular expressions, JSON contexts) do not run here: the partial members they fill
        // are the only errors allowed, and they do not hide a use of another folder's type.
        string[] generated = ["CS8795", "CS9248"];
        var errors = Graph.Value.Errors.Where(e => !generated.Contains(e.Id)).Take(20).ToList();
        Assert.True(errors is [], "the layer test's compilation of the engine fails, so some names are not bound:\n"
                                  + string.Join("\n", errors.Select(e => e.ToString())));
    }

    [Fact]
    public void No_folder_uses_a_folder_above_it_or_beside_it()
    {
        var rank = Layers().SelectMany((folders, i) => folders.Select(f => (f, i))).ToDictionary(p => p.f, p => p.i);
        var back = Graph.Value.Edges
            .Where(e => rank.ContainsKey(e.From) && rank.ContainsKey(e.To) && rank[e.To] >= rank[e.From])
            .GroupBy(e => (e.From, e.To))
            .Select(g => $"{g.Key.From} -> {g.Key.To}: " + string.Join(", ", g.GroupBy(e => e.Type).Select(t => $"{t.Key} ({t.First().Where})")))
            .Order(StringComparer.Ordinal).ToList();
        Assert.True(back is [], $"{back.Count} edges point up or sideways (docs/architecture.md, Layers):\n" + string.Join("\n", back));
    }

    [Fact]
    public void Each_file_is_in_its_folders_namespace()
    {
        var wrong = Directory.EnumerateFiles(EngineDependencies.EngineRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => EngineDependencies.FolderOf(f) is { } folder && !f.Contains("/obj/") && !f.Contains("/bin/"))
            .Select(f => (File: f, Folder: EngineDependencies.FolderOf(f)!, Namespace: Regex.Match(File.ReadAllText(f), @"^namespace\s+([\w.]+)", RegexOptions.Multiline).Groups[1].Value))
            .Where(x => x.Namespace != (x.Folder == "Api" ? "FineTune" : "FineTune." + x.Folder) && !x.Namespace.StartsWith("FineTune." + x.Folder + ".", StringComparison.Ordinal))
            .Select(x => $"{Path.GetRelativePath(EngineDependencies.EngineRoot, x.File)}: namespace {x.Namespace}")
            .ToList();
        Assert.True(wrong is [], "files whose namespace is not their folder's (the layer test maps folders to namespaces):\n" + string.Join("\n", wrong));
    }
}
