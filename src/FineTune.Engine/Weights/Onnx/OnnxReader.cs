using System.Runtime.InteropServices;
using Google.Protobuf;

namespace FineTune.Weights.Onnx;

/// <summary>
/// Reads an ONNX model (onnx.proto3) with Google.Protobuf's wire-level reader. Only the messages and fields a
/// weights converter needs are decoded (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto); every
/// other field is skipped, so no generated classes or ONNX runtime are needed. Nested messages are walked in
/// place (bounded by their end position) rather than copied out, which matters for a 63 MB graph.
/// </summary>
public static class OnnxReader
{
    const int TensorFloat = 1; // TensorProto.DataType.FLOAT

    public static OnnxGraph Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOnnxModelException($"Cannot read ONNX file {path}: {e.Message}", e);
        }
        try
        {
            return ReadModel(new CodedInputStream(bytes), path, bytes.Length);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            throw new InvalidOnnxModelException($"{path} is not a valid ONNX file ({e.Message}); it may be truncated: delete it and restore the package again.", e);
        }
    }

    static OnnxGraph ReadModel(CodedInputStream input, string source, long fileLength)
    {
        string producer = "";
        OnnxGraph? graph = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2: producer = input.ReadString(); break; // producer_name
                case 7: graph = ReadGraph(input, EndOfMessage(input, fileLength), source, producer); break;
                default: input.SkipLastField(); break;
            }
        }
        return graph ?? throw new InvalidOnnxModelException($"{source} holds no graph: it is not an ONNX model.");
    }

    static OnnxGraph ReadGraph(CodedInputStream input, long end, string source, string producer)
    {
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, OnnxTensor>();
        var inputs = new List<string>();
        var outputs = new List<string>();
        while (input.Position < end)
        {
            uint tag = input.ReadTag();
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: nodes.Add(ReadNode(input, EndOfMessage(input, end))); break;
                case 5:
                    var tensor = ReadTensor(input, EndOfMessage(input, end), source);
                    if (tensor is not null) initializers[tensor.Name] = tensor;
                    break;
                case 11: inputs.Add(ReadValueInfoName(input, EndOfMessage(input, end))); break;
                case 12: outputs.Add(ReadValueInfoName(input, EndOfMessage(input, end))); break;
                default: input.SkipLastField(); break;
            }
        }
        ExpectAt(input, end);
        // Older exporters (CNTK among them) list initializers among the graph inputs as well.
        inputs.RemoveAll(initializers.ContainsKey);
        return new OnnxGraph(source, producer, nodes, initializers, inputs, outputs);
    }

    static OnnxNode ReadNode(CodedInputStream input, long end)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>();
        string name = "", opType = "";
        while (input.Position < end)
        {
            uint tag = input.ReadTag();
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: inputs.Add(input.ReadString()); break;
                case 2: outputs.Add(input.ReadString()); break;
                case 3: name = input.ReadString(); break;
                case 4: opType = input.ReadString(); break;
                case 5:
                    var attribute = ReadAttribute(input, EndOfMessage(input, end));
                    attributes[attribute.Name] = attribute;
                    break;
                default: input.SkipLastField(); break;
            }
        }
        ExpectAt(input, end);
        return new OnnxNode(name, opType, inputs, outputs, attributes);
    }

    static OnnxAttribute ReadAttribute(CodedInputStream input, long end)
    {
        string name = "";
        float? f = null;
        long? i = null;
        string? s = null;
        var ints = new List<long>();
        var floats = new List<float>();
        while (input.Position < end)
        {
            uint tag = input.ReadTag();
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2: f = input.ReadFloat(); break;
                case 3: i = input.ReadInt64(); break;
                case 4: s = input.ReadBytes().ToStringUtf8(); break;
                case 7: ReadRepeated(input, tag, end, floats, c => c.ReadFloat()); break;
                case 8: ReadRepeated(input, tag, end, ints, c => c.ReadInt64()); break;
                default: input.SkipLastField(); break;
            }
        }
        ExpectAt(input, end);
        return new OnnxAttribute(name, f, i, s, ints.ToArray(), floats.ToArray());
    }

    /// <summary>A float tensor, or null for tensors of other element types (no converter here needs them).</summary>
    static OnnxTensor? ReadTensor(CodedInputStream input, long end, string source)
    {
        string name = "";
        int dataType = 0;
        var dims = new List<long>();
        var floats = new List<float>();
        ByteString? raw = null;
        bool external = false;
        while (input.Position < end)
        {
            uint tag = input.ReadTag();
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: ReadRepeated(input, tag, end, dims, c => c.ReadInt64()); break;
                case 2: dataType = input.ReadInt32(); break;
                case 4: ReadRepeated(input, tag, end, floats, c => c.ReadFloat()); break;
                case 8: name = input.ReadString(); break;
                case 9: raw = input.ReadBytes(); break;
                case 13: external = true; input.SkipLastField(); break;
                default: input.SkipLastField(); break;
            }
        }
        ExpectAt(input, end);
        if (dataType != TensorFloat) return null;
        if (external)
            throw new InvalidOnnxModelException($"Tensor {name} in {source} keeps its data in an external file, which this reader does not follow.");

        if (dims.Any(d => d < 0))
            throw new InvalidOnnxModelException($"Tensor {name} in {source} has a negative dimension [{string.Join(", ", dims)}]: the file is damaged.");
        // Checked: dimensions like [2^32, 2^32] would wrap to 0 elements and pass as an empty tensor.
        long count;
        try { count = dims.Aggregate(1L, (a, d) => checked(a * d)); }
        catch (OverflowException)
        {
            throw new InvalidOnnxModelException($"Tensor {name} in {source} has dimensions [{string.Join(", ", dims)}] whose element count overflows 64 bits: the file is damaged.");
        }
        // A length that is not whole floats means bytes were lost or added; reading the whole floats would hide it.
        if (raw is { Length: > 0 } && raw.Length % sizeof(float) != 0)
            throw new InvalidOnnxModelException($"Tensor {name} in {source} has {raw.Length} bytes of raw_data, not a whole number of 4-byte floats: the file is damaged.");
        float[] values = raw is { Length: > 0 } ? DecodeLittleEndianFloats(raw.Span) : floats.ToArray();
        if (values.Length != count)
            throw new InvalidOnnxModelException($"Tensor {name} in {source} has {values.Length} values for dimensions [{string.Join(", ", dims)}]: the file is damaged.");
        return new OnnxTensor(name, dims.ToArray(), values);
    }

    static float[] DecodeLittleEndianFloats(ReadOnlySpan<byte> bytes)
    {
        var values = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (int k = 0; k < values.Length; k++)
                values[k] = BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(values[k])));
        return values;
    }

    static string ReadValueInfoName(CodedInputStream input, long end)
    {
        string name = "";
        while (input.Position < end)
        {
            uint tag = input.ReadTag();
            if (WireFormat.GetTagFieldNumber(tag) == 1) name = input.ReadString();
            else input.SkipLastField();
        }
        ExpectAt(input, end);
        return name;
    }

    /// <summary>Repeated scalars arrive packed (one length-delimited run) or one per tag; both are legal protobuf.</summary>
    static void ReadRepeated<T>(CodedInputStream input, uint tag, long parentEnd, List<T> into, Func<CodedInputStream, T> readOne)
    {
        if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
        {
            into.Add(readOne(input));
            return;
        }
        long end = EndOfMessage(input, parentEnd);
        while (input.Position < end) into.Add(readOne(input));
        ExpectAt(input, end);
    }

    /// <summary>Reads a length prefix and returns where the value it announces ends, which must lie inside its parent.</summary>
    static long EndOfMessage(CodedInputStream input, long parentEnd)
    {
        int length = input.ReadLength();
        // A negative or oversized length would send the walk past its message (or the file) before any check sees it.
        if (length < 0 || length > parentEnd - input.Position)
            throw new FormatException($"a field at byte {input.Position} declares {(uint)length} bytes, more than the {parentEnd - input.Position} left in its enclosing message or the file");
        return input.Position + length;
    }

    static void ExpectAt(CodedInputStream input, long end)
    {
        if (input.Position != end)
            throw new FormatException($"a nested message overran its length by {input.Position - end} bytes");
    }
}
