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
    public void Copies_of_a_photo_in_a_class_go_to_one_split_and_a_folder_without_copies_splits_as_before()
    {
        var dir = TestFiles.Dataset(8, 8);
        var original = Directory.GetFiles(Path.Combine(dir, "class0")).Order(StringComparer.Ordinal).First();
        for (int k = 1; k <= 3; k++) File.Copy(original, Path.Combine(dir, "class0", $"copy{k}{Path.GetExtension(original)}"));
        var scan = DatasetScan.Run(dir);
        var split = SplitManifest.Create(scan, SplitRatios.Seed, 42);
        var hash = scan.Images.Single(i => i.RelativePath == Path.GetRelativePath(dir, original).Replace('\\', '/')).Sha256;
        Assert.Single(split.Entries.Where(e => e.Sha256 == hash).Select(e => e.Split).Distinct()); // the 4 files, one split
        Assert.Equal(4, split.Entries.Count(e => e.Sha256 == hash));
        // The ratios cut the 8 distinct photos of class0 (4/2/2); the copies ride with theirs.
        var distinct = split.Entries.Where(e => e.Class == "class0").GroupBy(e => e.Sha256).Select(g => g.First().Split).ToList();
        Assert.Equal((4, 2, 2), (distinct.Count(x => x == Split.Train), distinct.Count(x => x == Split.Val), distinct.Count(x => x == Split.Test)));

        // Without copies: the plain stratified cut (each class shuffled alone and cut by the ratios), file for file.
        var plain = DatasetScan.Run(TestFiles.Dataset(12, 8, 5));
        var expected = new List<ManifestEntry>();
        foreach (var (name, c) in plain.Classes.Select((n, c) => (n, c)))
        {
            var order = plain.Images.Where(i => i.ClassIndex == c).OrderBy(i => i.RelativePath, StringComparer.Ordinal).ToList();
            new SplitMix64(SplitMix64.Mix(42, SplitMix64.StableHash(name))).Shuffle(order);
            var n = SplitRatios.Seed.Counts(order.Count)!.Value;
            expected.AddRange(order.Select((i, k) => new ManifestEntry(i.RelativePath, name, k < n.Train ? Split.Train : k < n.Train + n.Val ? Split.Val : Split.Test, i.Sha256)));
        }
        Assert.Equal(expected.OrderBy(e => e.Path, StringComparer.Ordinal), SplitManifest.Create(plain, SplitRatios.Seed, 42).Entries);
    }

    [Fact]
    public void A_class_of_copies_is_too_small_and_the_refusal_says_the_copies_count_once()
    {
        var dir = TestFiles.Dataset(8, 2);
        var one = Directory.GetFiles(Path.Combine(dir, "class1")).Order(StringComparer.Ordinal).First();
        for (int k = 1; k <= 4; k++) File.Copy(one, Path.Combine(dir, "class1", $"again{k}{Path.GetExtension(one)}"));
        var e = Assert.Throws<DatasetException>(() => SplitManifest.Create(DatasetScan.Run(dir), SplitRatios.Seed, 42));
        Assert.Contains("'class1' in", e.Message);
        Assert.Contains("has 2 usable images (4 more are copies of these, which count once)", e.Message);
    }

    [Fact]
    public void A_photo_filed_in_two_classes_is_named_before_training_and_by_verify()
    {
        var dir = TestFiles.Dataset(8, 8);
        var photo = Directory.GetFiles(Path.Combine(dir, "class0")).Order(StringComparer.Ordinal).First();
        File.Copy(photo, Path.Combine(dir, "class1", "same.jpg"));
        File.Copy(photo, Path.Combine(dir, "class0", "again.jpg"));
        var scan = DatasetScan.Run(dir);
        var notes = new PreparedSplit(SplitManifest.Create(scan, SplitRatios.Seed, 42), scan).Notes().ToList();
        Assert.Contains(notes, n => n.StartsWith("Copies: 1 photo is a byte-for-byte copy of another in the same class"));
        var shared = Assert.Single(notes, n => n.StartsWith("The same photo is in 2 classes"));
        Assert.Contains("class1/same.jpg", shared);
        Assert.Contains("keep it in one class", shared);
        var report = scan.Report().ToString();
        Assert.Contains("Photos in more than one class: 1", report);
        Assert.Contains("class1/same.jpg", report);
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
