using System.Text.RegularExpressions;
using FineTune.Tests.Config;
using Xunit;

namespace FineTune.Tests.Architecture;

/// <summary>
/// Code that runs for every layer or batch never lets TorchSharp make a Scalar behind its back: <c>a.add_(b)</c> and
/// <c>a.add(b)</c> pass a hidden alpha of 1 as a fresh Scalar that nothing keeps alive during the native call, and a
/// garbage collection on another thread can finalize it while libtorch reads it (CI aborted once in the folded
/// BatchNorm's <c>bias.add_(bn.bias)</c>; src/FineTune.Engine/Native/Scalars.cs). This reads the source, as the layer
/// test does: a one-argument add there fails it, naming the line.
/// </summary>
public sealed class ScalarLifetimeTests
{
    static readonly string[] PerLayerCode =
    [
        "Models", "Kernels/ConvRoutes.cs", "Evaluation/EvalPass.cs", "Evaluation/GradCam.cs", "Distributed/SyncBatchNorm.cs",
        "Training/Optimizers",
    ];

    // .add( / .add_( with one argument (no top-level comma; one level of parentheses inside). TorchSharp's sub takes no alpha.
    static readonly Regex OneArgument = new(@"\.add_?\((?:[^(),]|\([^()]*\))*\)", RegexOptions.Compiled);

    [Fact]
    public void Per_layer_code_passes_the_alpha_of_every_add_explicitly()
    {
        var engine = RepoFiles.Path("src", "FineTune.Engine");
        var files = PerLayerCode.SelectMany(p => Directory.Exists(Path.Combine(engine, p))
            ? Directory.GetFiles(Path.Combine(engine, p), "*.cs", SearchOption.AllDirectories)
            : [Path.Combine(engine, p)]).ToList();
        Assert.All(files, f => Assert.True(File.Exists(f), $"{f} is gone: update the list above"));
        var found = files.SelectMany(f => File.ReadAllLines(f).Select((line, i) => (f, i, code: line.Split("//")[0])))
            .Where(l => OneArgument.IsMatch(l.code))
            .Select(l => $"{Path.GetRelativePath(engine, l.f)}:{l.i + 1}: {l.code.Trim()}").ToList();
        Assert.True(found is [], "one-argument add (give the alpha, e.g. Scalars.One):\n" + string.Join("\n", found));
        Assert.Matches(OneArgument, "y.add_(identity)"); // the pattern itself still catches the case CI saw
        Assert.DoesNotMatch(OneArgument, "y.add_(identity, Scalars.One)");
    }
}
