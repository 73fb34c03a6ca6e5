namespace FineTune.Data;

/// <summary>One image of a dataset: its file, its label, and the path reports show.</summary>
public sealed record Sample(string FullPath, string RelativePath, int Label);

/// <summary>The images a loader serves (one split of a manifest, or a whole scan) and the class names behind the labels.</summary>
public sealed class ImageDataset(string root, IReadOnlyList<string> classes, IReadOnlyList<Sample> samples)
{
    public string Root { get; } = root;
    public IReadOnlyList<string> Classes { get; } = classes;
    public IReadOnlyList<Sample> Samples { get; } = samples;
    public int Count => Samples.Count;

    public static ImageDataset FromManifest(SplitManifest manifest, string dataRoot, Split split)
    {
        var label = manifest.Classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        var samples = manifest.Of(split)
            .Select(e => new Sample(Path.Combine(dataRoot, e.Path), e.Path, label[e.Class]))
            .ToList();
        return new ImageDataset(dataRoot, manifest.Classes, samples);
    }

    public static ImageDataset FromScan(DatasetScan scan) =>
        new(scan.Root, scan.Classes, scan.Images.Select(i => new Sample(Path.Combine(scan.Root, i.RelativePath), i.RelativePath, i.ClassIndex)).ToList());
}
