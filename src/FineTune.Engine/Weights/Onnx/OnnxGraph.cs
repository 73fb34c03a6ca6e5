namespace FineTune.Weights.Onnx;

/// <summary>A float tensor stored in an ONNX file (an initializer): its name, its dimensions and its values.</summary>
public sealed record OnnxTensor(string Name, long[] Dims, float[] Values);

/// <summary>One attribute of a node; only the kinds that convolutional graphs use are kept.</summary>
public sealed record OnnxAttribute(string Name, float? Float, long? Int, string? Text, long[] Ints, float[] Floats);

/// <summary>One operator of the graph with the names of the values it reads and writes.</summary>
public sealed record OnnxNode(
    string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    public long[] Ints(string attribute) => Attributes.TryGetValue(attribute, out var a) ? a.Ints : [];
    public float? Float(string attribute) => Attributes.TryGetValue(attribute, out var a) ? a.Float : null;
    public long? Int(string attribute) => Attributes.TryGetValue(attribute, out var a) ? a.Int : null;
    public override string ToString() => $"{OpType} '{Name}'";
}

/// <summary>
/// The parts of an ONNX ModelProto a weights converter needs: the nodes in file order, the float
/// initializers by name, and the names of the graph's real inputs (initializers excluded) and outputs.
/// </summary>
public sealed record OnnxGraph(
    string Source, string Producer, IReadOnlyList<OnnxNode> Nodes, IReadOnlyDictionary<string, OnnxTensor> Initializers,
    IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

/// <summary>Raised when an ONNX file cannot be read or does not hold the network we expect; the message names the file.</summary>
public sealed class InvalidOnnxModelException(string message, Exception? inner = null) : FineTuneException(message, inner: inner);
