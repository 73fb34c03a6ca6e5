using System.Formats.Tar;
using FineTune.Data;
using FineTune.Data.Archives;
using SkiaSharp;
using Xunit;
using static FineTune.Tests.Data.ArchiveBombTests;

namespace FineTune.Tests.Data;

/// <summary>
/// Hard links are copies, so each costs its target's bytes, and the budget must find that target under the name
/// extraction copies it from. A refusal by the expansion ratio can only come from the headers pass, which writes nothing.
/// </summary>
public class ArchiveLinkTests
{
    const string Noise = "101_ObjectCategories/ant/noise.jpg";

    /// <summary>
    /// Caltech's layout, 64 KiB of noise (incompressible) at <see cref="Noise"/>, then the entries <paramref name="links"/>
    /// writes. A <paramref name="cut"/> archive ends there, in the middle of an entry: read to its end (or extracted) it
    /// would be refused as "truncated", so any other refusal came from the headers before the cut.
    /// </summary>
    static string Archive(string dir, Action<TarWriter> links, bool cut)
    {
        var noise = new byte[64 << 10];
        new Random(1).NextBytes(noise);
        var tar = TarStart(w =>
        {
            w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, Noise) { DataStream = new MemoryStream(noise) });
            links(w);
        });
        if (cut) tar.Write(UstarHeader("101_ObjectCategories/ant/cut.jpg", 1 << 20)); // its data is missing
        return GzipFile(dir, tar, endMarker: !cut);
    }

    static UstarTarEntry HardLink(string name, string target) => new(TarEntryType.HardLink, name) { LinkName = target };

    static UstarTarEntry SymbolicLink(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    [Theory]
    [InlineData("./101_ObjectCategories/ant/noise.jpg")]
    [InlineData("101_ObjectCategories//ant/noise.jpg")]
    [InlineData("101_ObjectCategories/./ant/noise.jpg")]
    [InlineData("101_ObjectCategories\\ant\\noise.jpg")]
    public void Hard_links_spelled_unlike_their_target_count_the_bytes_they_copy(string spelling)
    {
        // 200 copies of 64 KiB (13 MB) from a 70 KB archive; counted as 0 bytes, they used to be written in full.
        var dir = TestFiles.TempDir("link-spelling");
        var archive = Archive(dir, w =>
        {
            for (int i = 0; i < 200; i++) w.WriteEntry(HardLink($"101_ObjectCategories/ant/copy{i}.jpg", spelling));
        }, cut: false);
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(archive, outDir));
        Assert.Contains("expansion-ratio limit", e.Message);
        AssertNothingWritten(outDir);
    }

    [Fact]
    public void A_chain_of_hard_links_counts_every_copy()
    {
        var dir = TestFiles.TempDir("link-chain");
        var archive = Archive(dir, w =>
        {
            w.WriteEntry(HardLink("101_ObjectCategories/ant/copy0.jpg", "./" + Noise));
            for (int i = 1; i < 200; i++) w.WriteEntry(HardLink($"101_ObjectCategories/ant/copy{i}.jpg", $"101_ObjectCategories//ant/copy{i - 1}.jpg"));
        }, cut: false);
        var outDir = Path.Combine(dir, "out");
        Assert.Contains("expansion-ratio limit", Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(archive, outDir)).Message);
        AssertNothingWritten(outDir);
    }

    public static TheoryData<string, string> Aliases => new()
    {
        { "to-symlink", "a symbolic link; a hard link must name an earlier regular file" },
        { "through-symlinked-folder", "which lies under '101_ObjectCategories/bee', a symbolic link" },
        { "written-through-symlink", "would be written through the symbolic link of the same name" },
        { "to-later-file", "which is not an earlier file of the archive" },
        { "to-missing-file", "which is not an earlier file of the archive" },
        { "to-folder", "a folder; a hard link must name an earlier file" },
    };

    /// <summary>Ways a link could copy more than the budget counted; each ends in a hard link named copy.jpg.</summary>
    static void WriteAlias(TarWriter w, string kind)
    {
        const string copy = "101_ObjectCategories/ant/copy.jpg";
        switch (kind)
        {
            case "to-symlink": // the copy would follow the symbolic link to the noise
                w.WriteEntry(SymbolicLink("101_ObjectCategories/ant/alias.jpg", "noise.jpg"));
                w.WriteEntry(HardLink(copy, "101_ObjectCategories/ant/alias.jpg"));
                break;
            case "through-symlinked-folder":
                w.WriteEntry(SymbolicLink("101_ObjectCategories/bee", "ant"));
                w.WriteEntry(HardLink(copy, "101_ObjectCategories/bee/noise.jpg"));
                break;
            case "written-through-symlink": // the noise would land in small.jpg, counted as 1 byte
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/ant/small.jpg") { DataStream = new MemoryStream([1]) });
                w.WriteEntry(SymbolicLink("101_ObjectCategories/ant/s.jpg", "small.jpg"));
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/ant/s.jpg") { DataStream = new MemoryStream(new byte[4096]) });
                w.WriteEntry(HardLink(copy, "101_ObjectCategories/ant/small.jpg"));
                break;
            case "to-later-file":
                w.WriteEntry(HardLink(copy, "101_ObjectCategories/ant/later.jpg"));
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "101_ObjectCategories/ant/later.jpg") { DataStream = new MemoryStream([1]) });
                break;
            case "to-missing-file":
                w.WriteEntry(HardLink(copy, "101_ObjectCategories/ant/missing.jpg"));
                break;
            case "to-folder":
                w.WriteEntry(HardLink(copy, "./101_ObjectCategories/"));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Aliases))]
    public void A_link_that_could_copy_more_than_was_counted_is_refused_from_the_headers(string kind, string why)
    {
        var dir = TestFiles.TempDir("link-alias");
        var archive = Archive(dir, w => WriteAlias(w, kind), cut: true);
        var outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<UnsafeArchiveException>(() => DatasetPreparer.Prepare(archive, outDir));
        Assert.Contains(why, e.Message);
        Assert.Contains("'101_ObjectCategories/ant/", e.Message); // the entry, by name
        AssertNothingWritten(outDir);
    }

    [Fact]
    public void A_hard_link_spelled_unlike_its_target_still_extracts_as_a_copy()
    {
        var dir = TestFiles.TempDir("link-good");
        var jpeg = TestFiles.Encode(20, 20, SKColors.Teal);
        var tar = TarStart(w => w.WriteEntry(HardLink("101_ObjectCategories/ant/copy.jpg", "./101_ObjectCategories//ant/image_0001.jpg")));
        var (folder, _, files) = DatasetPreparer.Prepare(GzipFile(dir, tar), Path.Combine(dir, "out"));
        Assert.Equal(3, files);
        Assert.Equal(jpeg, File.ReadAllBytes(Path.Combine(folder, "ant", "copy.jpg")));
    }
}
