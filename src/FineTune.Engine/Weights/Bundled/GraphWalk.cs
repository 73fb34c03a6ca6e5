using System.Diagnostics.CodeAnalysis;
using FineTune.Weights.Onnx;

namespace FineTune.Weights.Bundled;

/// <summary>Follows values from producer to consumer through an ONNX graph; every dead end becomes a message naming the file.</summary>
sealed class GraphWalk
{
    readonly OnnxGraph graph;
    readonly ILookup<string, OnnxNode> consumers;

    public GraphWalk(OnnxGraph graph)
    {
        this.graph = graph;
        consumers = graph.Nodes
            .SelectMany(node => node.Inputs.Distinct().Select(input => (input, node)))
            .ToLookup(pair => pair.input, pair => pair.node);
    }

    public IReadOnlyList<OnnxNode> ConsumersOf(string value) => consumers[value].ToList();

    /// <summary>The one node that reads <paramref name="node"/>'s output.</summary>
    public OnnxNode OnlyConsumer(OnnxNode node)
    {
        if (node.Outputs.Count != 1) Fail($"gives {node} {node.Outputs.Count} outputs");
        var readers = ConsumersOf(node.Outputs[0]);
        return readers.Count == 1 ? readers[0] : Fail<OnnxNode>($"feeds the output of {node} to {readers.Count} nodes where one was expected");
    }

    /// <summary>The one node of type <paramref name="opType"/> that reads <paramref name="node"/>'s output.</summary>
    public OnnxNode Next(OnnxNode node, string opType)
    {
        var next = OnlyConsumer(node);
        return next.OpType == opType ? next : Fail<OnnxNode>($"follows {node} with {next} where {opType} was expected");
    }

    /// <summary>The one node of type <paramref name="opType"/> that reads <paramref name="value"/>.</summary>
    public OnnxNode Next(string value, string opType)
    {
        var readers = ConsumersOf(value).Where(n => n.OpType == opType).ToList();
        return readers.Count == 1 ? readers[0] : Fail<OnnxNode>($"has {readers.Count} {opType} nodes reading {value} where one was expected");
    }

    public OnnxTensor Initializer(string name, OnnxNode user) =>
        graph.Initializers.TryGetValue(name, out var tensor) ? tensor : Fail<OnnxTensor>($"computes {name} for {user} instead of storing it as a weight");

    /// <summary>A convolution's 4-d weight [out, in, kH, kW].</summary>
    public OnnxTensor Weight(OnnxNode conv)
    {
        var weight = Initializer(conv.Inputs[1], conv);
        return weight.Dims.Length == 4 ? weight : Fail<OnnxTensor>($"gives {conv} a weight of shape [{string.Join(", ", weight.Dims)}]");
    }

    [DoesNotReturn]
    public void Fail(string what) => throw Error(what);

    [DoesNotReturn]
    public T Fail<T>(string what) => throw Error(what);

    InvalidOnnxModelException Error(string what) =>
        new($"{graph.Source} (made by {graph.Producer}) {what}: it is not a ResNet that converts to torchvision's layout.");
}
