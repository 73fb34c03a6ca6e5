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
            return ReadModel(new CodedInputStream(bytes), path);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            throw new InvalidOnnxModelException($"{path} is not a valid ONNX file ({e.Message}); it may be truncated: delete it and restore the package again.", e);
        }
    }

    static OnnxGraph ReadModel(CodedInputStream input, string source)
    {
        string producer = "";
        OnnxGraph? graph = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2: producer = input.ReadString(); break; // producer_name
                case 7: graph = ReadGraph(input, EndOfMessage(input), source, producer); break;
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
                case 1: nodes.Add(ReadNode(input, EndOfMessage(input))); break;
                case 5:
                    var tensor = ReadTensor(input, EndOfMessage(input), source);
                    if (tensor is not null) initializers[tensor.Name] = tensor;
                    break;
                case 11: inputs.Add(ReadValueInfoName(input, EndOfMessage(input))); break;
                case 12: outputs.Add(ReadValueInfoName(input, EndOfMessage(input))); break;
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
                    var attribute = ReadAttribute(input, EndOfMessage(input));
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
                case 7: ReadRepeated(input, tag, floats, c => c.ReadFloat()); break;
                case 8: ReadRepeated(input, tag, ints, c => c.ReadInt64()); break;
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
                case 1: ReadRepeated(input, tag, dims, c => c.ReadInt64()); break;
                case 2: dataType = input.ReadInt32(); break;
                case 4: ReadRepeated(input, tag, floats, c => c.ReadFloat()); break;
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

        float[] values = raw is { Length: > 0 } ? DecodeLittleEndianFloats(raw.Span) : floats.ToArray();
        long count = dims.Aggregate(1L, (a, d) => a * d);
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
    static void ReadRepeated<T>(CodedInputStream input, uint tag, List<T> into, Func<CodedInputStream, T> readOne)
    {
        if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
        {
            into.Add(readOne(input));
            return;
        }
        long end = EndOfMessage(input);
        while (input.Position < end) into.Add(readOne(input));
        ExpectAt(input, end);
    }

    /// <summary>Reads a length prefix and returns where the value it announces ends.</summary>
    static long EndOfMessage(CodedInputStream input)
    {
        int length = input.ReadLength();
        return input.Position + length;
    }

    static void ExpectAt(CodedInputStream input, long end)
    {
        if (input.Position != end)
            throw new FormatException($"a nested message overran its length by {input.Position - end} bytes");
    }
}
