using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using FineTune.Tests.Config;

namespace FineTune.Tests.Architecture;

/// <summary>One use of a type from another engine folder: where it is, and what it names.</summary>
public sealed record FolderEdge(string From, string To, string Type, string Where);

/// <summary>
/// Which engine folder uses which, read with the C# compiler's semantic model rather than from <c>using</c> lines:
/// every name in the engine's sources is bound, and a name that binds to a type (or a member, or an extension method)
/// declared in another folder is an edge. Using lines alone would miss the names a parent namespace brings in
/// (FineTune.Training sees FineTune's types without one) and fully qualified names.
/// </summary>
public static class EngineDependencies
{
    public static string EngineRoot => RepoFiles.Path("src", "FineTune.Engine");

#if DEBUG
    internal const string Configuration = "Debug";
#else
    internal const string Configuration = "Release";
#endif

    /// <summary>The engine's top-level folders that hold C# sources.</summary>
    public static IReadOnlyList<string> Folders() =>
        SourceFiles().Select(FolderOf).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();

    static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(EngineRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Relative(f).StartsWith("obj/", StringComparison.Ordinal) && !Relative(f).StartsWith("bin/", StringComparison.Ordinal));

    /// <summary>
    /// The build's generated sources (implicit global usings, the C# protoc writes for Export/OnnxSchema), from this
    /// configuration's obj folder, so the compilation binds what the real build binds.
    /// </summary>
    static IEnumerable<string> GeneratedFiles()
    {
        var obj = Path.Combine(EngineRoot, "obj", Configuration);
        return Directory.Exists(obj) ? Directory.EnumerateFiles(obj, "*.cs", SearchOption.AllDirectories) : [];
    }

    static string Relative(string file) => Path.GetRelativePath(EngineRoot, file).Replace('\\', '/');

    /// <summary>The folder a file belongs to; a generated file belongs to the folder it was generated for.</summary>
    public static string? FolderOf(string file)
    {
        var parts = Relative(file).Split('/');
        if (parts[0] == "obj") parts = parts.Skip(3).ToArray(); // obj/<configuration>/<framework>/...
        return parts.Length > 1 ? parts[0] : null;
    }

    public static (IReadOnlyList<FolderEdge> Edges, IReadOnlyList<Diagnostic> Errors) Read()
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var sources = SourceFiles().ToList();
        var trees = sources.Concat(GeneratedFiles())
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, path: f)).ToList();
        var compilation = CSharpCompilation.Create("FineTune.Engine", trees, References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

        var edges = new List<FolderEdge>();
        foreach (var tree in trees.Where(t => sources.Contains(t.FilePath)))
        {
            var from = FolderOf(tree.FilePath);
            if (from is null) continue;
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var info = model.GetSymbolInfo(name);
                if (DeclaringType(info.Symbol ?? info.CandidateSymbols.FirstOrDefault()) is not { } type) continue;
                if (!SymbolEqualityComparer.Default.Equals(type.ContainingAssembly, compilation.Assembly)) continue;
                var to = type.DeclaringSyntaxReferences.Select(r => FolderOf(r.SyntaxTree.FilePath)).FirstOrDefault(f => f is not null);
                if (to is null || to == from) continue;
                var line = name.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                edges.Add(new FolderEdge(from, to, type.Name, $"{Relative(tree.FilePath)}:{line}"));
            }
        }
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        return (edges, errors);
    }

    internal static INamedTypeSymbol? DeclaringType(ISymbol? symbol) => symbol switch
    {
        INamedTypeSymbol t => t.OriginalDefinition,
        IMethodSymbol { ReducedFrom: { } m } => m.ContainingType?.OriginalDefinition,
        IMethodSymbol or IPropertySymbol or IFieldSymbol or IEventSymbol => symbol.ContainingType?.OriginalDefinition,
        _ => null,
    };

    /// <summary>
    /// What the engine compiles against: the runtime's assemblies and the packages beside this test assembly (TorchSharp,
    /// SkiaSharp, ONNX Runtime, FineTune.Inference...), less the engine itself and the programs built on it.
    /// </summary>
    internal static IEnumerable<MetadataReference> References(bool withEngine = false)
    {
        string[] onTop = [.. withEngine ? [] : new[] { "FineTune.Engine" }, "FineTune.Tests", "finetune", "finetune-probe", "finetune-mpihost", "ClassifyService"];
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var beside = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll");
        foreach (var dll in platform.Concat(beside).DistinctBy(Path.GetFileName))
        {
            if (onTop.Contains(Path.GetFileNameWithoutExtension(dll))) continue;
            MetadataReference? reference = null;
            try
            {
                using var stream = File.OpenRead(dll);
                using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
                if (pe.HasMetadata) reference = MetadataReference.CreateFromFile(dll);
            }
            catch (BadImageFormatException) { } // a native library with a .dll name
            if (reference is not null) yield return reference;
        }
    }
}
