using FineTune.Weights;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>Reading .pth and .safetensors files, and the messages for files that are not state dicts.</summary>
public class StateDictFileTests
{
    [Theory]
    [InlineData("weights.pth")]
    [InlineData("weights.safetensors")]
    public void A_state_dict_round_trips_with_every_tensor_equal(string fileName)
    {
        using var temp = new TempFolder();
        var path = temp.File(fileName);
        var state = TestFiles.StateDict("resnet18");
        try
        {
            if (fileName.EndsWith(".pth")) TestFiles.SavePth(path, state); else TestFiles.SaveSafetensors(path, state);
            var loaded = StateDictFile.Read(path);
            try
            {
                Assert.Equal(state.Keys.Order(), loaded.Keys.Order());
                foreach (var (key, tensor) in state)
                {
                    Assert.Equal(tensor.shape, loaded[key].shape);
                    Assert.True(tensor.equal(loaded[key]).all().item<bool>(), $"{key} differs after the round trip");
                }
                var shapes = StateDictFile.ReadShapes(path);
                Assert.Equal(new long[] { 64, 3, 7, 7 }, shapes["conv1.weight"]);
                Assert.Equal(new long[] { 1000, 512 }, shapes["fc.weight"]);
            }
            finally { TestFiles.Dispose(loaded); }
        }
        finally { TestFiles.Dispose(state); }
    }

    [Fact]
    public void Shapes_of_a_pth_are_read_from_its_pickle_and_checked_against_its_storage_sizes()
    {
        using var temp = new TempFolder();
        var path = temp.File("hollow.pth");
        var state = TestFiles.StateDict("resnet18");
        try { TestFiles.SavePth(path, state); } finally { TestFiles.Dispose(state); }
        // Replace every tensor's bytes by others of the same length: the shapes come from the pickle alone.
        void Refill(Func<long, int> newLength)
        {
            using var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update);
            foreach (var entry in zip.Entries.Where(e => e.FullName.Contains("/data/")).ToList())
            {
                var (name, length) = (entry.FullName, entry.Length);
                entry.Delete();
                using var s = zip.CreateEntry(name).Open();
                s.Write(Enumerable.Repeat((byte)0xFF, newLength(length)).ToArray());
            }
        }
        Refill(length => (int)length);
        Assert.Equal(new long[] { 64, 3, 7, 7 }, StateDictFile.ReadShapes(path)["conv1.weight"]);
        // With the storages emptied, the declared shapes no longer fit: refused by name, before any shape is trusted.
        Refill(_ => 0);
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.ReadShapes(path));
        Assert.Contains("holds 0", e.Message);
        e = Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_legacy_non_zip_pth_gets_a_clear_message()
    {
        using var temp = new TempFolder();
        var path = temp.File("old.pth");
        // What torch.save wrote before PyTorch 1.6: a bare pickle starting with its magic number.
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes("\u0080\u0002\u008a\u000al\u00fc\u009cF\u00f9 j\u00a8P\u0019.\u0080\u0002M\u00e9\u0003."));
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("legacy", e.Message);
        Assert.Contains("torch.save", e.Message);
    }

    [Fact]
    public void A_file_that_is_neither_format_says_so()
    {
        using var temp = new TempFolder();
        var path = temp.File("notes.pth");
        File.WriteAllText(path, "these are not weights");
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
        Assert.Contains("neither", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_truncated_pth_asks_for_a_fresh_download()
    {
        using var temp = new TempFolder();
        var path = temp.File("cut.pth");
        var state = TestFiles.StateDict("resnet18");
        try { TestFiles.SavePth(path, state); } finally { TestFiles.Dispose(state); }
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_safetensors_tensor_of_the_wrong_byte_size_is_named()
    {
        using var temp = new TempFolder();
        var path = temp.File("bad.safetensors");
        var header = """{"conv1.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"""u8.ToArray();
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)header.Length));
            f.Write(header);
            f.Write(new byte[12]);
        }
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
        Assert.Contains("conv1.weight", e.Message);
        Assert.Contains("16", e.Message);
    }

    static string WriteSafetensors(TempFolder temp, string header, int dataBytes, ulong? declaredLength = null)
    {
        var path = temp.File("crafted.safetensors");
        var json = System.Text.Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(declaredLength ?? (ulong)json.Length));
        f.Write(json);
        f.Write(new byte[dataBytes]);
        return path;
    }

    [Fact]
    public void A_safetensors_shape_whose_byte_size_overflows_is_refused()
    {
        // 2^62 + 1 elements of 4 bytes wrap to 4 bytes in unchecked 64-bit arithmetic: the 4 bytes present would pass.
        using var temp = new TempFolder();
        var path = WriteSafetensors(temp, """{"fc.bias":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,4]}}""", 4);
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.ReadShapes(path));
        Assert.Contains("overflow", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
    }

    [Fact]
    public void A_safetensors_header_length_larger_than_the_file_is_named_as_such()
    {
        using var temp = new TempFolder();
        var path = WriteSafetensors(temp, """{"fc.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, declaredLength: 1UL << 40);
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path));
        Assert.Contains("is larger than the file", e.Message);
        Assert.Contains(path, e.Message);
    }
}
