using FineTune.Data;
using FineTune.Data.Archives;
using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Data;

public class SyntheticDatasetTests
{
    [Fact]
    public void Synth_writes_real_jpeg_and_png_files_some_grey_that_scan_cleanly()
    {
        var dir = Path.Combine(TestFiles.TempDir("synth"), "data");
        Assert.Equal(40, SyntheticDataset.Write(dir, classes: 4, perClass: 10));
        var scan = DatasetScan.Run(dir);
        Assert.Equal(4, scan.Classes.Count);
        Assert.Equal(40, scan.Images.Count);
        Assert.Empty(scan.Problems);
        Assert.Equal(8, scan.Images.Count(i => i.Grey));
        var formats = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(ImageFormatSniffer.Sniff).ToHashSet();
        Assert.Equal([ImageFormat.Jpeg, ImageFormat.Png], formats.Order());
        Assert.Throws<DatasetException>(() => SyntheticDataset.Write(dir, 4, 10)); // never over an existing dataset
    }
}

public class CaltechTests
{
    [CaltechFact]
    public void The_real_archive_prepares_scans_splits_and_loads()
    {
        var outDir = TestFiles.TempDir("caltech");
        var (folder, _, files) = DatasetPreparer.Prepare(CaltechFactAttribute.Archive!, outDir);
        Assert.Equal(9145, files);
        var scan = DatasetScan.Run(folder);
        Assert.Equal(101, scan.Classes.Count);
        Assert.Equal(8677, scan.Images.Count);
        Assert.Empty(scan.Problems);
        var counts = scan.CountsPerClass();
        Assert.Equal((31, 800), (counts.Min(), counts.Max()));

        var all = DatasetScan.Run(folder, new ScanOptions(KeepBackground: true));
        Assert.Contains(all.Images, i => i.RelativePath == "BACKGROUND_Google/tmp");
        Assert.Equal(411, all.Images.Count(i => i.Grey));

        var manifest = SplitManifest.Create(scan, SplitRatios.Seed, 42);
        Assert.Equal(8677, manifest.Entries.Count);
        var test = ImageDataset.FromManifest(manifest, folder, Split.Test);
        using var loader = new DataLoader(test, new TrainTransform(), Preprocessing.ImageNet, new LoaderOptions(BatchSize: 16, NumWorkers: 2));
        using var first = loader.Epoch(0).First();
        Assert.Equal(new long[] { 16, 3, 224, 224 }, first.Images.shape);
        Directory.Delete(outDir, true);
    }
}
