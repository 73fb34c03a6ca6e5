using FineTune.Weights.Onnx;
using Google.Protobuf;
using Xunit;

namespace FineTune.Tests.Weights;

/// <summary>ONNX files whose numbers lie: sizes and lengths are checked before they are used.</summary>
public class OnnxReaderTests
{
    /// <summary>A ModelProto holding one graph with one FLOAT initializer of the given dimensions and no data.</summary>
    static byte[] ModelWithInitializer(params long[] dims) => ModelWithInitializer(dims, rawData: null);

    /// <summary>As above, with <paramref name="rawData"/> (when given) as the tensor's raw_data.</summary>
    static byte[] ModelWithInitializer(long[] dims, byte[]? rawData)
    {
        var tensor = new MemoryStream();
        var t = new CodedOutputStream(tensor);
        foreach (var d in dims) { t.WriteTag(1, WireFormat.WireType.Varint); t.WriteInt64(d); } // dims
        t.WriteTag(2, WireFormat.WireType.Varint); t.WriteInt32(1); // data_type FLOAT
        t.WriteTag(8, WireFormat.WireType.LengthDelimited); t.WriteString("fc.weight"); // name
        if (rawData is not null) { t.WriteTag(9, WireFormat.WireType.LengthDelimited); t.WriteBytes(ByteString.CopyFrom(rawData)); } // raw_data
        t.Flush();
        return Model(Message(5, tensor.ToArray())); // graph.initializer
    }

    static byte[] Message(int field, byte[] body)
    {
        var stream = new MemoryStream();
        var o = new CodedOutputStream(stream);
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(body));
        o.Flush();
        return stream.ToArray();
    }

    static byte[] Model(byte[] graphBody) => Message(7, graphBody); // ModelProto.graph

    static string Write(TempFolder temp, byte[] bytes)
    {
        var path = temp.File("crafted.onnx");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void An_honest_empty_initializer_reads()
    {
        using var temp = new TempFolder();
        var graph = OnnxReader.Read(Write(temp, ModelWithInitializer(0, 3)));
        Assert.Empty(graph.Initializers["fc.weight"].Values);
    }

    [Fact]
    public void Raw_data_of_whole_floats_reads_and_a_stray_byte_is_refused()
    {
        using var temp = new TempFolder();
        var floats = BitConverter.GetBytes(1.5f).Concat(BitConverter.GetBytes(-2f)).ToArray();
        Assert.Equal([1.5f, -2f], OnnxReader.Read(Write(temp, ModelWithInitializer([2], floats))).Initializers["fc.weight"].Values);

        // 9 bytes for 2 floats: reading the whole floats alone would drop the stray byte and pass.
        var path = Write(temp, ModelWithInitializer([2], [.. floats, 0]));
        var e = Assert.Throws<InvalidOnnxModelException>(() => OnnxReader.Read(path));
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains("9 bytes of raw_data, not a whole number of 4-byte floats", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Initializer_dimensions_whose_element_count_overflows_are_refused()
    {
        // 2^32 x 2^32 wraps to 0 elements in unchecked arithmetic, so a tensor without data would pass as "empty".
        using var temp = new TempFolder();
        var path = Write(temp, ModelWithInitializer(1L << 32, 1L << 32));
        var e = Assert.Throws<InvalidOnnxModelException>(() => OnnxReader.Read(path));
        Assert.Contains("overflows", e.Message);
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_negative_initializer_dimension_is_refused()
    {
        using var temp = new TempFolder();
        var path = Write(temp, ModelWithInitializer(-1, -4));
        Assert.Contains("negative dimension", Assert.Throws<InvalidOnnxModelException>(() => OnnxReader.Read(path)).Message);
    }

    [Fact]
    public void A_message_length_longer_than_the_file_is_named_as_such()
    {
        using var temp = new TempFolder();
        var stream = new MemoryStream();
        var o = new CodedOutputStream(stream);
        o.WriteTag(7, WireFormat.WireType.LengthDelimited);
        o.WriteLength(1 << 30); // a 1 GiB graph in a file of a few bytes
        o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt32(0);
        o.Flush();
        var path = Write(temp, stream.ToArray());
        var e = Assert.Throws<InvalidOnnxModelException>(() => OnnxReader.Read(path));
        Assert.Contains("declares 1073741824 bytes, more than the", e.Message);
        Assert.Contains(path, e.Message);
    }
}
