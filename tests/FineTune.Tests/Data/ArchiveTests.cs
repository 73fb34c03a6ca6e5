using System.Formats.Tar;
using System.IO.Compression;
using FineTune.Data;
using FineTune.Data.Archives;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

public class ArchiveTests
{
    static readonly byte[] Jpeg = TestFiles.Encode(20, 20, SKColors.Teal);

    /// <summary>A tar.gz in Caltech's layout, plus whatever extra entries a test adds.</summary>
    static string TarGz(string dir, params TarEntry[] extra)
    {
        var path = Path.Combine(dir, "101_ObjectCategories.tar.gz");
        using (var file = File.Create(path))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "101_ObjectCategories/"));
            foreach (var name in new[] { "101_ObjectCategories/ant/image_0001.jpg", "101_ObjectCategories/ant/image_0002.jpg", "101_ObjectCategories/BACKGROUND_Google/tmp" })
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Jpeg) });
            foreach (var e in extra) tar.WriteEntry(e);
        }
        return path;
    }

    static void AssertNothingLeft(string outDir, string parent)
    {
        Assert.False(Directory.Exists(Path.Combine(outDir, DatasetPreparer.ImageFolder)), "no half-written dataset");
        if (Directory.Exists(outDir)) Assert.Empty(Directory.EnumerateFileSystemEntries(outDir)); // no temp folder either
        Assert.False(File.Exists(Path.Combine(parent, "evil.txt")), "nothing written outside the target");
    }

    [Fact]
    public void A_good_tar_gz_is_prepared_into_101_ObjectCategories()
    {
        var dir = TestFiles.TempDir("tgz");
        var outDir = Path.Combine(dir, "out");
        var (folder, already, files) = DatasetPreparer.Prepare(TarGz(dir), outDir);
        Assert.False(already);
        Assert.Equal(3, files);
        Assert.True(File.Exists(Path.Combine(folder, "ant", "image_0002.jpg")));
        Assert.True(DatasetPreparer.Prepare(TarGz(dir), outDir).AlreadyThere);
        Assert.Single(Directory.EnumerateFileSystemEntries(outDir));
    }

    public static TheoryData<string> MaliciousTarEntries => ["traversal", "absolute", "symlink-absolute", "symlink-up", "hardlink-up", "device", "fifo"];

    static TarEntry Malicious(string kind) => kind switch
    {
        "traversal" => new PaxTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/../../evil.txt") { DataStream = new MemoryStream("x"u8.ToArray()) },
        "absolute" => new PaxTarEntry(TarEntryType.RegularFile, "/tmp/finetune-evil.txt") { DataStream = new MemoryStream("x"u8.ToArray()) },
        "symlink-absolute" => new PaxTarEntry(TarEntryType.SymbolicLink, "101_ObjectCategories/ant/passwd") { LinkName = "/etc/passwd" },
        "symlink-up" => new PaxTarEntry(TarEntryType.SymbolicLink, "101_ObjectCategories/ant/up") { LinkName = "../../.." },
        "hardlink-up" => new PaxTarEntry(TarEntryType.HardLink, "101_ObjectCategories/ant/shadow") { LinkName = "../../etc/shadow" },
        "device" => new PaxTarEntry(TarEntryType.CharacterDevice, "101_ObjectCategories/ant/null") { DeviceMajor = 1, DeviceMinor = 3 },
        "fifo" => new PaxTarEntry(TarEntryType.Fifo, "101_ObjectCategories/ant/pipe"),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(MaliciousTarEntries))]
    public void A_malicious_tar_entry_is_refused_by_name_and_nothing_is_left(string kind)
    {
        var dir = TestFiles.TempDir("evil");
        var entry = Malicious(kind);
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(TarGz(dir, entry), outDir));
        Assert.Contains($"'{entry.Name}'", e.Message);
        AssertNothingLeft(outDir, dir);
        Assert.False(File.Exists("/tmp/finetune-evil.txt"));
    }

    [Fact]
    public void A_symlink_inside_the_target_is_allowed()
    {
        var dir = TestFiles.TempDir("link");
        var link = new PaxTarEntry(TarEntryType.SymbolicLink, "101_ObjectCategories/ant/alias.jpg") { LinkName = "image_0001.jpg" };
        var (folder, _, _) = DatasetPreparer.Prepare(TarGz(dir, link), Path.Combine(dir, "out"));
        Assert.Equal(Jpeg, File.ReadAllBytes(Path.Combine(folder, "ant", "alias.jpg")));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.95)]
    public void A_truncated_archive_is_a_clear_error_and_leaves_nothing(double keep)
    {
        var dir = TestFiles.TempDir("trunc");
        var good = File.ReadAllBytes(TarGz(dir));
        var cut = Path.Combine(dir, "cut.tar.gz");
        File.WriteAllBytes(cut, good[..(int)(good.Length * keep)]);
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(cut, outDir));
        Assert.Contains("truncated or corrupt", e.Message);
        AssertNothingLeft(outDir, dir);
    }

    /// <summary>The official zip's layout: caltech-101/101_ObjectCategories.tar.gz and Annotations.tar.</summary>
    static string Zip(string dir, string innerTarGz, Action<ZipArchive>? extra = null)
    {
        var path = Path.Combine(dir, "caltech-101.zip");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        zip.CreateEntryFromFile(innerTarGz, "caltech-101/101_ObjectCategories.tar.gz");
        using (var w = zip.CreateEntry("caltech-101/Annotations.tar").Open()) w.Write(new byte[1024]);
        extra?.Invoke(zip);
        return path;
    }

    [Fact]
    public void The_official_zip_is_prepared()
    {
        var dir = TestFiles.TempDir("zip");
        var (folder, _, files) = DatasetPreparer.Prepare(Zip(dir, TarGz(dir)), Path.Combine(dir, "out"));
        Assert.Equal(3, files);
        Assert.True(File.Exists(Path.Combine(folder, "BACKGROUND_Google", "tmp")));
    }

    [Theory]
    [InlineData("../evil.txt", 0)]
    [InlineData("/tmp/finetune-evil.txt", 0)]
    [InlineData("caltech-101/link", 0xA1FF)]
    public void A_malicious_zip_entry_is_refused_by_name(string name, int unixMode)
    {
        var dir = TestFiles.TempDir("evilzip");
        var zip = Zip(dir, TarGz(dir), z =>
        {
            var e = z.CreateEntry(name);
            if (unixMode != 0) e.ExternalAttributes = unixMode << 16;
            using var w = e.Open();
            w.Write("/etc/passwd"u8);
        });
        var outDir = Path.Combine(dir, "out");
        var ex = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(zip, outDir));
        Assert.Contains($"'{name}'", ex.Message);
        AssertNothingLeft(outDir, dir);
        var extractAll = Path.Combine(dir, "all");
        Assert.Throws<UnsafeArchiveException>(() => SafeExtractor.ExtractZip(zip, extractAll));
        Assert.False(Directory.Exists(extractAll) && Directory.EnumerateFileSystemEntries(extractAll).Any());
    }

    [Fact]
    public void Something_that_is_not_an_archive_is_named()
    {
        var dir = TestFiles.TempDir("notarch");
        var path = TestFiles.Write(dir, "caltech-101.zip", "<html>404</html>"u8.ToArray());
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(path, Path.Combine(dir, "out")));
        Assert.Contains("not a zip, tar.gz or tar", e.Message);
    }
}
