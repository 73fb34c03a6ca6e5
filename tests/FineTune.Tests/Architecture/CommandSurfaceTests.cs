using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using FineTune.Tests.Config;
using Xunit;

namespace FineTune.Tests.Architecture;

/// <summary>
/// The commands call the public API (namespace FineTune) and, beyond it, only the CLI-facing surface that
/// docs/architecture.md names in "What a command may call": a folder written as <c>Folder/</c> there admits its
/// namespace, a name in backticks admits that type. A command that reaches further fails here until the doc says so.
/// </summary>
public sealed class CommandSurfaceTests
{
    static string CliRoot => RepoFiles.Path("src", "FineTune.Cli");

    [Fact]
    public void Commands_use_only_the_api_and_the_surface_the_architecture_names()
    {
        var (namespaces, types) = DocumentedSurface();
        var outside = EngineTypesTheCliUses()
            .Where(u => u.Namespace != "FineTune" && !namespaces.Contains(u.Namespace) && !types.Contains(u.Type))
            .GroupBy(u => $"{u.Namespace}.{u.Type}")
            .Select(g => $"{g.Key} ({g.First().Where})").Order(StringComparer.Ordinal).ToList();
        Assert.True(outside is [], "the CLI uses engine types that are neither API nor named in docs/architecture.md, "
                                   + "\"What a command may call\":\n" + string.Join("\n", outside));
    }

    [Fact]
    public void The_documented_surface_names_only_types_that_exist()
    {
        var (_, types) = DocumentedSurface();
        var engine = typeof(FineTune.Experiment).Assembly.GetTypes().Select(t => t.Name.Split('`')[0]).ToHashSet();
        engine.UnionWith(typeof(FineTune.FineTuneException).Assembly.GetTypes().Select(t => t.Name.Split('`')[0]));
        engine.UnionWith(System.Reflection.Assembly.Load("finetune").GetTypes().Select(t => t.Name.Split('`')[0])); // the commands' own names
        engine.Add("FineTune"); // the namespace
        var stale = types.Where(t => !engine.Contains(t)).Order(StringComparer.Ordinal).ToList();
        Assert.True(stale is [], "docs/architecture.md's \"What a command may call\" names types the engine no longer has: " + string.Join(", ", stale));
    }

    /// <summary>The section's `Folder/` names (as namespaces) and the type names in its other backticks.</summary>
    static (HashSet<string> Namespaces, HashSet<string> Types) DocumentedSurface()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs", "architecture.md"));
        var section = Regex.Match(doc, @"## What a command may call\n(?<body>.*?)(\n## |\z)", RegexOptions.Singleline);
        Assert.True(section.Success, "docs/architecture.md has no \"## What a command may call\" section");
        var ticks = Regex.Matches(section.Groups["body"].Value, "`([^`]+)`").Select(m => m.Groups[1].Value).ToList();
        // `Kernels/` admits FineTune.Kernels; `Training/TrainingStep` names a type; `ModelExport.Run` names ModelExport.
        var namespaces = ticks.Where(t => Regex.IsMatch(t, @"^[A-Z]\w*/$")).Select(t => "FineTune." + t.TrimEnd('/')).ToHashSet();
        var types = ticks.Where(t => !t.EndsWith('/') && !t.EndsWith(".cs", StringComparison.Ordinal))
            .Select(t => t.Split('/').Last().Split('.')[0].Split('(')[0])
            .Where(t => Regex.IsMatch(t, @"^[A-Z]\w*$")).ToHashSet();
        return (namespaces, types);
    }

    sealed record Use(string Namespace, string Type, string Where);

    /// <summary>Every engine type (or a member's, or an extension method's) that a name in the CLI's sources binds to.</summary>
    static List<Use> EngineTypesTheCliUses()
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var sources = Directory.EnumerateFiles(CliRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")).ToList();
        var obj = Path.Combine(CliRoot, "obj", EngineDependencies.Configuration);
        var generated = Directory.Exists(obj) ? Directory.EnumerateFiles(obj, "*.cs", SearchOption.AllDirectories) : [];
        var trees = sources.Concat(generated).Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, path: f)).ToList();
        var compilation = CSharpCompilation.Create("finetune", trees, EngineDependencies.References(withEngine: true),
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id is not ("CS8795" or "CS9248")).Take(10).ToList();
        Assert.True(errors is [], "the test's compilation of the CLI fails, so some names are not bound:\n" + string.Join("\n", errors));

        var uses = new List<Use>();
        foreach (var tree in trees.Where(t => sources.Contains(t.FilePath)))
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var info = model.GetSymbolInfo(name);
                if (EngineDependencies.DeclaringType(info.Symbol ?? info.CandidateSymbols.FirstOrDefault()) is not { } type) continue;
                if (type.ContainingAssembly?.Name != "FineTune.Engine") continue;
                var outer = type;
                while (outer.ContainingType is { } parent) outer = parent;
                var line = name.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                uses.Add(new Use(outer.ContainingNamespace.ToDisplayString(), outer.Name, $"{Path.GetRelativePath(CliRoot, tree.FilePath)}:{line}"));
            }
        }
        Assert.NotEmpty(uses); // the CLI calls the engine; none found means the binding failed
        return uses;
    }
}
