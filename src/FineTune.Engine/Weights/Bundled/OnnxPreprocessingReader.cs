using FineTune.Weights.Onnx;

namespace FineTune.Weights.Bundled;

/// <summary>
/// Reads ML.NET's ResNetPreprocess.onnx (Split the RGB input, Concat the channels in another order, Sub a mean
/// image) into a <see cref="Preprocessing"/> value, so the channel order and the mean come from the file.
/// </summary>
public static class OnnxPreprocessingReader
{
    /// <summary>
    /// ML.NET feeds this graph pixels as extracted, 0-255 (ImagePixelExtractingEstimator's default scale 1):
    /// not recorded in the graph, hence a constant. CNTK's ResNets divide by no std.
    /// </summary>
    const float PixelScale = 255f;

    public static Preprocessing Read(OnnxGraph graph)
    {
        var split = Single(graph, "Split");
        var concat = Single(graph, "Concat");
        var sub = Single(graph, "Sub");
        if (split.Outputs.Count != 3 || concat.Inputs.Count != 3)
            throw Error(graph, "does not split the image into three channels");
        var order = concat.Inputs.Select(name => split.Outputs.ToList().IndexOf(name)).ToArray();
        var channelOrder = order switch
        {
            [0, 1, 2] => ChannelOrder.Rgb,
            [2, 1, 0] => ChannelOrder.Bgr,
            _ => throw Error(graph, $"reorders the channels as [{string.Join(", ", order)}]"),
        };
        if (sub.Inputs.Count != 2 || sub.Inputs[0] != concat.Outputs[0] || !graph.Initializers.TryGetValue(sub.Inputs[1], out var mean))
            throw Error(graph, "does not subtract a stored mean from the reordered image");
        if (mean.Dims is not [1, 3, var height, var width] || height != width)
            throw Error(graph, $"subtracts a mean of shape [{string.Join(", ", mean.Dims)}] instead of [1, 3, H, H]");

        var image = new MeanImage((int)height, (int)width, mean.Values);
        return new Preprocessing((int)height, PixelScale, channelOrder, image.ChannelMeans(), [1f, 1f, 1f]) { MeanImage = image };
    }

    static OnnxNode Single(OnnxGraph graph, string opType)
    {
        var nodes = graph.Nodes.Where(n => n.OpType == opType).ToList();
        return nodes.Count == 1 ? nodes[0] : throw Error(graph, $"has {nodes.Count} {opType} nodes where one was expected");
    }

    static InvalidOnnxModelException Error(OnnxGraph graph, string what) =>
        new($"{graph.Source} {what}: it is not the ResNet preprocessing graph this reader understands.");
}
