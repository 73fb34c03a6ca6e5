using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace FineTune.Export;

/// <summary>
/// A small builder over the classes protoc generates from onnx.proto: nodes with unique output names, float
/// initializers as raw little-endian data, and the attribute kinds a ResNet needs.
/// </summary>
sealed class OnnxGraph
{
    public GraphProto Graph { get; } = new();
    int _next;

    public string Node(string opType, string[] inputs, params AttributeProto[] attributes) => Node(opType, inputs, $"{opType.ToLowerInvariant()}_{_next++}", attributes);

    public string Node(string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{Graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    public string Constant(string name, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        // raw_data is little-endian by the ONNX spec, as is every platform .NET runs this on.
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        Graph.Initializer.Add(tensor);
        return name;
    }

    public string Constant(string name, long[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.AddRange(dims);
        tensor.Int64Data.AddRange(values);
        Graph.Initializer.Add(tensor);
        return name;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A float32 tensor type; a null dimension is symbolic (<paramref name="symbol"/>, the batch).</summary>
    public static ValueInfoProto FloatTensor(string name, string doc, string symbol, params long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is { } n ? new TensorShapeProto.Types.Dimension { DimValue = n } : new TensorShapeProto.Types.Dimension { DimParam = symbol });
        return new ValueInfoProto
        {
            Name = name,
            DocString = doc,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
