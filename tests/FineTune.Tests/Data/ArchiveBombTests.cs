using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using FineTune.Cli;
using FineTune.Cli.Commands;
using FineTune.Data;
using FineTune.Data.Archives;
using SkiaSharp;
using Xunit;

namespace FineTune.Tests.Data;

/// <summary>
/// Archives that declare more than an image data set ever holds: refused from their headers before anything is
/// written. Every archive here is a few kilobytes: sizes are declared in headers, or made of zeros that gzip
/// shrinks about 1000 times, and limits are lowered where a real count would be slow.
/// </summary>
public class ArchiveBombTests
{
    static readonly byte[] Jpeg = TestFiles.Encode(20, 20, SKColors.Teal);

    /// <summary>The tar bytes of a small Caltech-layout folder, without the end-of-archive marker; <paramref name="extra"/> adds entries.</summary>
    internal static MemoryStream TarStart(Action<TarWriter>? extra = null)
    {
        var tar = new MemoryStream();
        var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true);
        writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "101_ObjectCategories/"));
        foreach (var name in new[] { "101_ObjectCategories/ant/image_0001.jpg", "101_ObjectCategories/ant/image_0002.jpg" })
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Jpeg) });
        extra?.Invoke(writer);
        return tar; // the writer is not disposed: callers append raw entries or the end marker themselves
    }

    internal static string GzipFile(string dir, MemoryStream tar, bool endMarker = true)
    {
        if (endMarker) tar.Write(new byte[1024]);
        var path = Path.Combine(dir, "101_ObjectCategories.tar.gz");
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Optimal);
        gz.Write(tar.GetBuffer(), 0, (int)tar.Length);
        return path;
    }

    /// <summary>A ustar header for a regular file of <paramref name="declaredSize"/> bytes; no data follows unless the caller writes it.</summary>
    internal static byte[] UstarHeader(string name, long declaredSize)
    {
        var h = new byte[512];
        void Put(int at, string text) => Encoding.ASCII.GetBytes(text).CopyTo(h, at);
        Put(0, name);
        Put(100, "0000644\0");
        Put(108, "0000000\0");
        Put(116, "0000000\0");
        if (declaredSize < 1L << 33) Put(124, Convert.ToString(declaredSize, 8).PadLeft(11, '0') + "\0");
        else // GNU base-256 for sizes past 11 octal digits: a set high bit, then the number big-endian
        {
            h[124] = 0x80;
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(h.AsSpan(128, 8), declaredSize);
        }
        Put(136, "00000000000\0");
        Put(156, "0");
        Put(257, "ustar\0");
        Put(263, "00");
        Put(148, "        ");
        int sum = h.Sum(b => b);
        Put(148, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        return h;
    }

    internal static void AssertNothingWritten(string outDir)
    {
        Assert.False(Directory.Exists(Path.Combine(outDir, DatasetPreparer.ImageFolder)));
        if (Directory.Exists(outDir)) Assert.Empty(Directory.EnumerateFileSystemEntries(outDir));
    }

    [Fact]
    public void A_member_declaring_6_GiB_is_refused_by_the_ratio_limit_before_anything_is_written()
    {
        // The 6 GiB member's data is cut off after 64 KiB: a refusal that came after writing would fail as "truncated".
        var dir = TestFiles.TempDir("bomb-declared");
        var tar = TarStart();
        tar.Write(UstarHeader("101_ObjectCategories/ant/zeros.jpg", 6L << 30));
        tar.Write(new byte[64 << 10]);
        var archive = GzipFile(dir, tar, endMarker: false);
        var outDir = Path.Combine(dir, "out");

        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(archive, outDir));
        Assert.Contains("at least 6 GiB", e.Message);
        Assert.Contains("expansion-ratio limit of 20", e.Message);
        Assert.Contains("--max_ratio", e.Message);
        AssertNothingWritten(outDir);
    }

    [Fact]
    public void Real_zeros_past_the_ratio_are_refused_and_max_ratio_lets_them_through()
    {
        var dir = TestFiles.TempDir("bomb-zeros");
        var tar = TarStart(w => w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/ant/zeros.bmp") { DataStream = new MemoryStream(new byte[4 << 20]) }));
        var archive = GzipFile(dir, tar);
        Assert.True(new FileInfo(archive).Length < 64 << 10, "4 MiB of zeros gzips to a few KiB");
        var outDir = Path.Combine(dir, "out");

        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(archive, outDir));
        Assert.Contains("expansion-ratio limit", e.Message);
        AssertNothingWritten(outDir);

        var (folder, _, files) = DatasetPreparer.Prepare(archive, outDir, new ArchiveLimits(MaxRatio: 10_000));
        Assert.Equal(3, files);
        Assert.Equal(4 << 20, new FileInfo(Path.Combine(folder, "ant", "zeros.bmp")).Length);
    }

    [Fact]
    public void Hard_links_count_the_bytes_they_copy()
    {
        // One 64 KiB file of noise (incompressible) and 200 hard links to it: 13 MB written from a 70 KB archive.
        var dir = TestFiles.TempDir("bomb-links");
        var noise = new byte[64 << 10];
        new Random(1).NextBytes(noise);
        var tar = TarStart(w =>
        {
            w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/ant/noise.jpg") { DataStream = new MemoryStream(noise) });
            for (int i = 0; i < 200; i++)
                w.WriteEntry(new UstarTarEntry(TarEntryType.HardLink, $"101_ObjectCategories/ant/copy{i}.jpg") { LinkName = "101_ObjectCategories/ant/noise.jpg" });
        });
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(GzipFile(dir, tar), outDir));
        Assert.Contains("expansion-ratio limit", e.Message);
        AssertNothingWritten(outDir);
    }

    [Fact]
    public void More_entries_than_the_cap_are_refused_and_max_entries_on_the_command_line_lifts_it()
    {
        var dir = TestFiles.TempDir("bomb-entries");
        var tar = TarStart(w =>
        {
            for (int i = 0; i < 40; i++) w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, $"101_ObjectCategories/ant/empty{i}"));
        });
        var archive = GzipFile(dir, tar);
        var outDir = Path.Combine(dir, "out");

        var e = Assert.Throws<UnsafeArchiveException>(() => DataCommand.Run(["prepare", "--archive", archive, "--out", outDir, "--max_entries", "20"]));
        Assert.Contains("more than 20 entries, the entry-count limit", e.Message);
        Assert.Contains("--max_entries", e.Message);
        AssertNothingWritten(outDir);

        Assert.Equal(0, DataCommand.Run(["prepare", "--archive", archive, "--out", outDir, "--max_entries", "100"]));
        Assert.Equal(42, Directory.EnumerateFiles(Path.Combine(outDir, DatasetPreparer.ImageFolder), "*", SearchOption.AllDirectories).Count());
        Assert.Contains("--max_entries", Assert.Throws<UsageException>(() => DataCommand.Run(["prepare", "--archive", archive, "--max_entries", "lots"])).Message);
    }

    [Fact]
    public void A_declared_total_beyond_the_free_space_is_refused_naming_the_space()
    {
        // 1 PiB declared, with the ratio limit lifted: only the free-space check stands in the way.
        var dir = TestFiles.TempDir("bomb-space");
        var tar = TarStart();
        tar.Write(UstarHeader("101_ObjectCategories/ant/huge.jpg", 1L << 50));
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() =>
            DatasetPreparer.Prepare(GzipFile(dir, tar, endMarker: false), outDir, new ArchiveLimits(MaxRatio: double.PositiveInfinity)));
        Assert.Contains("1048576 GiB", e.Message);
        Assert.Contains("the free-space limit", e.Message);
        Assert.Contains("--out", e.Message);
        AssertNothingWritten(outDir);
    }

    [Fact]
    public void The_official_zip_is_held_to_the_limits_of_the_tar_gz_inside_it()
    {
        var dir = TestFiles.TempDir("bomb-zip");
        var tar = TarStart(w => w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/ant/zeros.bmp") { DataStream = new MemoryStream(new byte[4 << 20]) }));
        var inner = GzipFile(dir, tar);
        var zipPath = Path.Combine(dir, "caltech-101.zip");
        using (var zip = ZipFile.Open(zipPath, ZipArchiveMode.Create))
            zip.CreateEntryFromFile(inner, "caltech-101/101_ObjectCategories.tar.gz", CompressionLevel.NoCompression);
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(zipPath, outDir));
        Assert.Contains("expansion-ratio limit", e.Message);
        Assert.Contains("caltech-101.zip!caltech-101/101_ObjectCategories.tar.gz", e.Message);
        AssertNothingWritten(outDir);
    }

    [Fact]
    public void A_zip_extracted_whole_is_held_to_its_declared_sizes_and_entry_count()
    {
        var dir = TestFiles.TempDir("bomb-zipall");
        var zipPath = Path.Combine(dir, "bomb.zip");
        using (var zip = ZipFile.Open(zipPath, ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("zeros.bin", CompressionLevel.Optimal).Open()) s.Write(new byte[4 << 20]);
            for (int i = 0; i < 30; i++) zip.CreateEntry($"empty{i}");
        }
        var target = Path.Combine(dir, "all");
        Assert.Contains("expansion-ratio limit", Assert.Throws<UnsafeArchiveException>(() => SafeExtractor.ExtractZip(zipPath, target)).Message);
        Assert.Contains("entry-count limit", Assert.Throws<UnsafeArchiveException>(() => SafeExtractor.ExtractZip(zipPath, target, new ArchiveLimits(MaxRatio: 10_000, MaxEntries: 20))).Message);
        Assert.False(Directory.Exists(target));
        Assert.Equal(31, SafeExtractor.ExtractZip(zipPath, target, new ArchiveLimits(MaxRatio: 10_000)));
    }
}
