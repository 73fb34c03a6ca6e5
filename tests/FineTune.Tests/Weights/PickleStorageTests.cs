using System.Collections;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using FineTune.Weights;
using TorchSharp;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>
/// A .pth whose pickle declares a tensor bigger than the storage bytes it points to: refused before PyBridge
/// allocates or reads anything, with checked arithmetic so sizes cannot wrap around.
/// </summary>
public class PickleStorageTests
{
    /// <summary>
    /// The pickle torch.save writes for {"fc.weight": tensor} (protocol 2), with the shape, stride and storage
    /// element count written as given, and a storage file data/0 of <paramref name="storageBytes"/> bytes.
    /// </summary>
    static string Pth(TempFolder temp, int[] shape, int[] stride, int storageElements, int storageBytes)
    {
        var p = new MemoryStream();
        void Raw(string latin1) => p.Write(Encoding.Latin1.GetBytes(latin1));
        void Str(string s) { p.WriteByte((byte)'X'); p.Write(BitConverter.GetBytes(Encoding.UTF8.GetByteCount(s))); p.Write(Encoding.UTF8.GetBytes(s)); }
        void Int(int v) { p.WriteByte((byte)'J'); p.Write(BitConverter.GetBytes(v)); }
        void Tuple(int[] values) { p.WriteByte((byte)'('); foreach (var v in values) Int(v); p.WriteByte((byte)'t'); }

        Raw("\u0080\u0002ccollections\nOrderedDict\n)R(");
        Str("fc.weight");
        Raw("ctorch._utils\n_rebuild_tensor_v2\n(");
        Raw("("); Str("storage"); Raw("ctorch\nFloatStorage\n"); Str("0"); Str("cpu"); Int(storageElements); Raw("tQ");
        Int(0); // storage offset
        Tuple(shape);
        Tuple(stride);
        Raw("\u0089ccollections\nOrderedDict\n)RtRu.");

        var path = temp.File("crafted.pth");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(p.ToArray());
        using (var s = zip.CreateEntry("archive/data/0", CompressionLevel.NoCompression).Open()) s.Write(new byte[storageBytes]);
        using (var s = zip.CreateEntry("archive/version", CompressionLevel.NoCompression).Open()) s.Write("3\n"u8);
        return path;
    }

    [Fact]
    public void An_honest_crafted_file_loads()
    {
        using var temp = new TempFolder();
        var path = Pth(temp, [2, 2], [2, 1], 4, 16);
        var state = StateDictFile.Read(path);
        try { Assert.Equal([2L, 2], state["fc.weight"].shape); }
        finally { foreach (var t in state.Values) t.Dispose(); }
        Assert.Equal([2L, 2], StateDictFile.ReadShapes(path)["fc.weight"]);
    }

    [Fact]
    public void A_tensor_larger_than_its_storage_is_refused_before_its_shape_is_trusted()
    {
        // 2^30 floats (4 GiB) declared over a 16-byte storage: a shape read alone would size a model from it.
        using var temp = new TempFolder();
        var path = Pth(temp, [1 << 30], [1], 4, 16);
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.ReadShapes(path));
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains("needs 4294967296 bytes", e.Message);
        Assert.Contains("holds 16", e.Message);
        Assert.Contains("needs 4294967296 bytes", Assert.Throws<WeightsFormatException>(() => StateDictFile.Read(path)).Message);
    }

    [Fact]
    public void Sizes_whose_byte_count_overflows_64_bits_are_refused()
    {
        using var temp = new TempFolder();
        var path = Pth(temp, [int.MaxValue, int.MaxValue, int.MaxValue], [1, 1, 1], 4, 16);
        var e = Assert.Throws<WeightsFormatException>(() => StateDictFile.ReadShapes(path));
        Assert.Contains("overflows 64 bits", e.Message);
        Assert.Contains(path, e.Message);
    }

    /// <summary>What PickleStorages reads from PyBridge's (internal) tensor description, property by property.</summary>
    sealed record Description(long[] Shape, long[] Stride, long StorageOffset, int ArchiveIndex, torch.ScalarType DType, Stream? Data);

    [Fact]
    public void A_storage_dtype_of_unknown_element_size_is_refused_rather_than_read_as_bytes()
    {
        // PyBridge 1.4.4 maps only the storages PickleGuard allows, so no file reaches this today; a PyBridge that
        // mapped more would. 4 QInt32 elements are 16 bytes, but at a guessed 1 byte each they fit a 4-byte storage.
        using var temp = new TempFolder();
        var path = Pth(temp, [4], [1], 4, 4);
        var table = new Hashtable { ["fc.weight"] = new Description([4], [1], 0, 1, torch.ScalarType.QInt32, null) };
        using var stream = File.OpenRead(path);
        var check = typeof(StateDictFile).Assembly.GetType("FineTune.Weights.PickleStorages", throwOnError: true)!.GetMethod("Check")!;
        var e = Assert.Throws<WeightsFormatException>(() => check.Invoke(null, BindingFlags.DoNotWrapExceptions, null, [table, stream, path], null));
        Assert.Contains("tensor 'fc.weight'", e.Message);
        Assert.Contains("has dtype QInt32, whose element size this reader does not know", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_stride_that_reaches_past_the_storage_is_refused()
    {
        // Shape [2, 2] is 16 bytes, but stride 4 reaches element 5 of a 4-element storage.
        using var temp = new TempFolder();
        var path = Pth(temp, [2, 2], [4, 1], 4, 16);
        Assert.Contains("needs 24 bytes", Assert.Throws<WeightsFormatException>(() => StateDictFile.ReadShapes(path)).Message);
    }
}
