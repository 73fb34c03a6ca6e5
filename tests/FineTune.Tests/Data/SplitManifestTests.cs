using FineTune.Data;
using Xunit;

namespace FineTune.Tests.Data;

public class SplitManifestTests
{
    [Fact]
    public void SplitMix64_matches_the_reference_sequence()
    {
        // Vigna's splitmix64.c with seed 1234567: the sequence is fixed forever, on every machine.
        var g = new SplitMix64(1234567);
        Assert.Equal(6457827717110365317UL, g.NextUInt64());
        Assert.Equal(3203168211198807973UL, g.NextUInt64());
    }

    [Theory]
    [InlineData(0.5, 0.25, 0.3, "sum to 1")]
    [InlineData(0, 0.5, 0.5, "train_size")]
    [InlineData(0.5, 1, -0.5, "val_size")]
    public void Ratios_are_validated_naming_the_key(double train, double val, double test, string expected)
    {
        var e = Assert.Throws<DatasetException>(() => new SplitRatios(train, val, test).Validate());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Split_is_stratified_disjoint_and_deterministic_for_a_seed()
    {
        var scan = DatasetScan.Run(TestFiles.Dataset(12, 8, 3));
        var a = SplitManifest.Create(scan, SplitRatios.Seed, 42);
        var b = SplitManifest.Create(scan, SplitRatios.Seed, 42);
        var c = SplitManifest.Create(scan, SplitRatios.Seed, 43);
        Assert.Equal(a.Entries, b.Entries);
        Assert.NotEqual(a.Entries.Select(e => e.Split), c.Entries.Select(e => e.Split));
        Assert.Equal(23, a.Entries.Select(e => e.Path).Distinct().Count());
        foreach (var cls in scan.Classes)
            foreach (var split in Enum.GetValues<Split>())
                Assert.Contains(a.Entries, e => e.Class == cls && e.Split == split);
        Assert.Equal(6, a.Entries.Count(e => e.Class == "class0" && e.Split == Split.Train));
        Assert.Equal(3, a.Entries.Count(e => e.Class == "class0" && e.Split == Split.Test));
    }

    [Fact]
    public void A_class_too_small_for_every_split_is_named_with_the_rule()
    {
        var scan = DatasetScan.Run(TestFiles.Dataset(5, 2));
        var e = Assert.Throws<DatasetException>(() => SplitManifest.Create(scan, SplitRatios.Seed, 42));
        Assert.Contains("'class1'", e.Message);
        Assert.Contains("at least one image in each split", e.Message);
    }

    [Fact]
    public void An_empty_class_folder_is_named()
    {
        var dir = TestFiles.Dataset(4);
        Directory.CreateDirectory(Path.Combine(dir, "empty_class"));
        var e = Assert.Throws<DatasetException>(() => SplitManifest.Create(DatasetScan.Run(dir), SplitRatios.Seed, 42));
        Assert.Contains("'empty_class'", e.Message);
    }

    [Fact]
    public void Manifest_round_trips_and_detects_changed_files_but_not_added_ones()
    {
        var dir = TestFiles.Dataset(4, 4);
        var manifest = SplitManifest.Create(DatasetScan.Run(dir), SplitRatios.Seed, 7);
        var experiment = TestFiles.TempDir("exp");
        manifest.Save(experiment);
        Assert.Empty(Directory.GetFiles(experiment, "*.tmp*"));
        var loaded = SplitManifest.Load(experiment);
        Assert.Equal(manifest.Entries, loaded.Entries);
        Assert.Equal(manifest.Classes, loaded.Classes);
        Assert.Equal(7UL, loaded.Seed);

        File.Copy(Path.Combine(dir, "class0/img000.jpg"), Path.Combine(dir, "class0/new.jpg"));
        loaded.Verify(dir); // an added file is not part of this experiment

        File.WriteAllBytes(Path.Combine(dir, "class0/img001.jpg"), File.ReadAllBytes(Path.Combine(dir, "class1/img001.jpg")));
        File.Delete(Path.Combine(dir, "class1/img002.jpg"));
        var e = Assert.Throws<ManifestMismatchException>(() => loaded.Verify(dir));
        Assert.Equal(["class0/img001.jpg (content changed)", "class1/img002.jpg (missing)"], e.ChangedFiles);
        Assert.Contains("class0/img001.jpg", e.Message);
    }

    [Fact]
    public void LoadOrCreate_reuses_the_experiments_split_and_refuses_a_different_seed()
    {
        var dir = TestFiles.Dataset(6, 6);
        var experiment = TestFiles.TempDir("exp2");
        var first = SplitManifest.LoadOrCreate(experiment, dir, SplitRatios.Seed, 42);
        TestFiles.Write(dir, "class0/later.jpg", File.ReadAllBytes(Path.Combine(dir, "class1/img000.jpg")));
        var again = SplitManifest.LoadOrCreate(experiment, dir, SplitRatios.Seed, 42);
        Assert.Equal(first.Entries, again.Entries); // the added file does not enter any split
        var e = Assert.Throws<DatasetException>(() => SplitManifest.LoadOrCreate(experiment, dir, SplitRatios.Seed, 7));
        Assert.Contains("seed 42", e.Message);
    }

    [Fact]
    public void Dataset_from_a_manifest_split_has_that_split_only()
    {
        var dir = TestFiles.Dataset(8, 8);
        var manifest = SplitManifest.Create(DatasetScan.Run(dir), SplitRatios.Seed, 42);
        var test = ImageDataset.FromManifest(manifest, dir, Split.Test);
        Assert.Equal(manifest.Of(Split.Test).Count(), test.Count);
        Assert.All(test.Samples, s => Assert.Equal($"class{s.Label}", s.RelativePath.Split('/')[0]));
    }
}
