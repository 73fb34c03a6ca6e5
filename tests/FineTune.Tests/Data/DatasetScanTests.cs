using FineTune.Data;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

public class DatasetScanTests
{
    [Fact]
    public void Classes_are_folders_in_ordinal_order_and_background_is_excluded_unless_kept()
    {
        var dir = TestFiles.Dataset(2, 2);
        TestFiles.Write(dir, "BACKGROUND_Google/tmp", TestFiles.Encode(20, 20, SKColors.Gray));
        TestFiles.Write(dir, "Zebra/a.jpg", TestFiles.Encode(20, 20, SKColors.Black));
        var scan = DatasetScan.Run(dir);
        Assert.Equal(["Zebra", "class0", "class1"], scan.Classes); // ordinal: 'Z' < 'c'
        Assert.Equal(["BACKGROUND_Google"], scan.ExcludedFolders);
        Assert.Equal(5, scan.Images.Count);

        var kept = DatasetScan.Run(dir, new ScanOptions(KeepBackground: true));
        Assert.Contains("BACKGROUND_Google", kept.Classes);
        Assert.Contains(kept.Images, i => i.RelativePath == "BACKGROUND_Google/tmp"); // a JPEG without extension
    }

    [Fact]
    public void Unusable_files_are_left_out_and_listed_in_the_report()
    {
        var dir = TestFiles.Dataset(3);
        foreach (var kind in new[] { "zero", "truncated", "corrupt", "text" })
            TestFiles.Write(dir, $"class0/{kind}.jpg", ImageDecoderTests.Broken(kind));
        TestFiles.Write(dir, "class0/bomb.png", ImageDecoderTests.PngBomb(30000, 30000));
        var scan = DatasetScan.Run(dir);
        Assert.Equal(3, scan.Images.Count);
        Assert.Equal(["bomb.png", "corrupt.jpg", "text.jpg", "truncated.jpg", "zero.jpg"], scan.Problems.Select(p => Path.GetFileName(p.RelativePath)));
        var report = scan.Report().ToString();
        Assert.Contains("class0/truncated.jpg", report);
        Assert.Contains("Problems: 5 file(s) left out", report);
        Assert.Contains("Usable images: 3", report);
    }

    [Fact]
    public void Hidden_files_and_folders_a_mac_or_a_thumbnailer_leaves_are_passed_over_and_counted()
    {
        var dir = TestFiles.Dataset(3);
        TestFiles.Write(dir, "class0/.DS_Store", [0, 0, 0, 1, .. "Bud1"u8, .. new byte[64]]);
        // AppleDouble metadata, named like the photo it belongs to (a copy from a Mac to a USB stick or a share).
        TestFiles.Write(dir, "class0/._photo.jpg", [0, 5, 0x16, 7, 0, 2, 0, 0, .. "Mac OS X        "u8, .. new byte[64]]);
        // A thumbnail folder: real images, the same photos again, which would leak between train and test.
        TestFiles.Write(dir, "class0/.thumbnails/photo.jpg", TestFiles.Encode(20, 20, SKColors.Red));
        var scan = DatasetScan.Run(dir);
        Assert.Equal(3, scan.Images.Count);
        Assert.Empty(scan.Problems);
        Assert.Equal(3, scan.HiddenFiles);
        Assert.Contains("Hidden files passed over: 3", scan.Report().ToString());
    }

    [Fact]
    public void Unicode_names_are_scanned_and_hashed()
    {
        var dir = TestFiles.TempDir("unicode");
        TestFiles.Write(dir, "café/图片 1.jpg", TestFiles.Encode(20, 20, SKColors.Red));
        TestFiles.Write(dir, "Ελληνικά/ß.png", TestFiles.Encode(20, 20, SKColors.Blue, format: SKEncodedImageFormat.Png));
        var scan = DatasetScan.Run(dir);
        Assert.Equal(2, scan.Images.Count);
        Assert.Contains(scan.Images, i => i.RelativePath == "café/图片 1.jpg");
        Assert.All(scan.Images, i => Assert.Equal(64, i.Sha256.Length));
    }

    [Fact]
    public void A_missing_or_classless_folder_is_a_clear_error()
    {
        Assert.Throws<DirectoryNotFoundException>(() => DatasetScan.Run("/nonexistent/finetune-data"));
        var e = Assert.Throws<DatasetException>(() => DatasetScan.Run(TestFiles.TempDir("empty")));
        Assert.Contains("no class folders", e.Message);
    }
}
