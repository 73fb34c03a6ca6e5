using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>
/// `finetune train` on an install whose bundled ResNet-18 files are damaged (a truncated copy, a disk error): one line
/// naming the file and the fix, exit code 1 (docs/reliability.md, "Exit codes"), no stack trace.
/// </summary>
public sealed class DamagedBundledWeightsTests
{
    [Theory]
    [InlineData("ResNet18Onnx/ResNet18.onnx")]
    [InlineData("ResNetPrepOnnx/ResNetPreprocess.onnx")]
    public void A_truncated_bundled_onnx_file_is_one_line_naming_it_and_the_fix(string damaged)
    {
        var root = TestRunFolder.New("damaged-bundled");
        var program = InstallWithTruncated(Path.Combine(root, "program"), damaged);
        File.WriteAllText(Path.Combine(root, "bundled.yaml"),
            "data:\n  source: synthetic\n  synthetic_images_per_class: 4\n  batch_size: 4\n  image_size: 32\n" +
            "model:\n  backbone: resnet18\n  pretrained: true\n  weights: bundled\n  num_classes: 2\n" +
            $"training:\n  num_epochs: 1\n  threads: 1\n  precision: fp32\nexperiment:\n  name: damaged\n  checkpoint_dir: {root}/ckpt\n  log_dir: {root}/logs\n");

        var run = Processes.Run(program, ["train", "--config", "bundled.yaml"], root);

        var file = Path.Combine(root, "program", "DnnImageModels", damaged);
        var error = run.Err.Trim();
        Assert.True(run.Code == ExitCodes.Failure, $"exit code {run.Code}\n{run.Err}");
        Assert.StartsWith($"finetune: The bundled ResNet-18 file {file} is damaged", error);
        Assert.Contains($"reinstall or rebuild finetune, which copies it from NuGet package {BundledResNet18.PackageId}", error);
        Assert.Single(error.Split('\n'), line => line.StartsWith("finetune:", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", run.Err);
        Assert.DoesNotContain("Unhandled exception", run.Err);
    }

    /// <summary>
    /// A copy of the built program in <paramref name="folder"/> whose bundled file <paramref name="damaged"/> holds only
    /// its first half. The program finds the package's files beside its own assembly (AppContext.BaseDirectory), and
    /// the .NET host resolves links to that assembly, so the program's own four files are copied; the rest (libtorch,
    /// 900 MB) are linked.
    /// </summary>
    static string InstallWithTruncated(string folder, string damaged)
    {
        var built = Path.GetDirectoryName(FinetuneProgram.Path)!;
        Directory.CreateDirectory(folder);
        string[] own = ["finetune", "finetune.dll", "finetune.deps.json", "finetune.runtimeconfig.json"];
        foreach (var entry in Directory.EnumerateFileSystemEntries(built))
        {
            var name = Path.GetFileName(entry);
            var target = Path.Combine(folder, name);
            if (own.Contains(name)) File.Copy(entry, target);
            else if (name != "DnnImageModels") File.CreateSymbolicLink(target, entry);
        }
        foreach (var file in Directory.EnumerateFiles(Path.Combine(built, "DnnImageModels"), "*.onnx", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Path.Combine(built, "DnnImageModels"), file);
            var target = Path.Combine(folder, "DnnImageModels", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (relative == damaged.Replace('/', Path.DirectorySeparatorChar))
            {
                var bytes = File.ReadAllBytes(file);
                File.WriteAllBytes(target, bytes[..(bytes.Length / 2)]);
            }
            else File.CreateSymbolicLink(target, file);
        }
        return Path.Combine(folder, "finetune");
    }
}
