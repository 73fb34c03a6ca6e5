using FineTune.Models;
using FineTune.Weights.Onnx;

namespace FineTune.Weights.Bundled;

/// <summary>A ResNet's tensors under torchvision's names, and the layout the graph showed.</summary>
public sealed record ConvertedResNet(ResNetArchitecture Architecture, IReadOnlyDictionary<string, HostTensor> StateDict);

/// <summary>
/// Turns an exported ResNet ONNX graph (as CNTK writes it) into a torchvision state dict without the classifier.
/// The mapping follows the graph's wiring, not the exporter's node names or node order: the stem is the Conv that
/// reads the graph input; each residual block is found from its input, whose consuming Conv either leads
/// (through BatchNormalization/Relu) to the block's Add - the main path, conv1..convN - or whose BatchNormalization
/// feeds that Add directly - the projection shortcut (downsample). A new stage starts where the block width changes.
/// Strides, paddings and epsilons are checked against torchvision's layout so that a graph that would compute
/// something else is refused rather than silently mis-converted.
/// </summary>
public static class OnnxResNetConverter
{
    const float TorchBatchNormEpsilon = 1e-5f;

    public static ConvertedResNet Convert(OnnxGraph graph)
    {
        var walk = new GraphWalk(graph);
        var state = new Dictionary<string, HostTensor>();
        var used = new HashSet<string>();

        if (graph.Inputs.Count != 1) walk.Fail($"has {graph.Inputs.Count} inputs; a ResNet has one image input");
        var stemConv = walk.Next(graph.Inputs[0], "Conv");
        var stemBn = walk.Next(stemConv, "BatchNormalization");
        CheckConv(walk, stemConv, stride: 2);
        AddConv(walk, state, used, "conv1", stemConv);
        AddBatchNorm(walk, state, used, "bn1", stemBn);
        var pool = walk.Next(walk.Next(stemBn, "Relu"), "MaxPool");
        CheckWindow(walk, pool, kernel: 3, stride: 2);

        string current = pool.Outputs[0];
        long width = graph.Initializers[stemConv.Inputs[1]].Dims[0];
        var layers = new List<int>();
        BlockKind? kind = null;
        while (true)
        {
            var convs = walk.ConsumersOf(current).Where(n => n.OpType == "Conv").ToList();
            if (convs.Count == 0) break;
            var block = ReadBlock(walk, current, convs);
            var blockKind = block.Main.Count switch
            {
                2 => BlockKind.Basic,
                3 => BlockKind.Bottleneck,
                _ => walk.Fail<BlockKind>($"has a residual block of {block.Main.Count} convolutions after {current}; torchvision's blocks have 2 or 3"),
            };
            if (kind is not null && kind != blockKind) walk.Fail("mixes BasicBlocks and Bottlenecks");
            kind = blockKind;

            long blockWidth = walk.Weight(block.Main[^1].Conv).Dims[0];
            if (layers.Count == 0 || blockWidth != width) layers.Add(0);
            width = blockWidth;
            int stage = layers.Count, index = layers[^1]++;
            if (stage > 4) walk.Fail("has more than four stages of residual blocks");

            // torchvision (ResNet v1.5) strides the first block of stages 2-4 on its 3x3 convolution.
            int strideAt = blockKind == BlockKind.Basic ? 0 : 1;
            bool downsamples = index == 0 && stage > 1;
            string prefix = $"layer{stage}.{index}";
            for (int k = 0; k < block.Main.Count; k++)
            {
                var (conv, bn) = block.Main[k];
                CheckConv(walk, conv, stride: downsamples && k == strideAt ? 2 : 1);
                AddConv(walk, state, used, $"{prefix}.conv{k + 1}", conv);
                AddBatchNorm(walk, state, used, $"{prefix}.bn{k + 1}", bn);
            }
            if (block.Shortcut is var (shortcutConv, shortcutBn))
            {
                if (index != 0) walk.Fail($"has a projection shortcut in block {index} of stage {stage}; torchvision has them only in a stage's first block");
                CheckConv(walk, shortcutConv, stride: downsamples ? 2 : 1);
                AddConv(walk, state, used, $"{prefix}.downsample.0", shortcutConv);
                AddBatchNorm(walk, state, used, $"{prefix}.downsample.1", shortcutBn);
            }
            current = walk.Next(block.Add, "Relu").Outputs[0];
        }

        if (layers.Count != 4 || kind is null) walk.Fail($"has {layers.Count} stages of residual blocks; a ResNet has four");
        var head = walk.ConsumersOf(current);
        if (head.Count != 1 || head[0].OpType is not ("AveragePool" or "GlobalAveragePool"))
            walk.Fail($"does not end its last block with a global average pool (found {string.Join(", ", head)})");
        var unused = graph.Initializers.Keys.Where(k => !used.Contains(k)).ToList();
        if (unused.Count > 0)
            walk.Fail($"holds {unused.Count} tensor(s) outside the convolution/batch-norm backbone, first {unused[0]}");

        return new ConvertedResNet(new ResNetArchitecture(kind.Value, [.. layers]), state);
    }

    sealed record Block(List<(OnnxNode Conv, OnnxNode Bn)> Main, (OnnxNode Conv, OnnxNode Bn)? Shortcut, OnnxNode Add);

    /// <summary>Splits the convolutions reading a block's input into the main path and the projection shortcut.</summary>
    static Block ReadBlock(GraphWalk walk, string input, List<OnnxNode> convs)
    {
        (OnnxNode, OnnxNode)? shortcut = null;
        List<(OnnxNode, OnnxNode)>? main = null;
        OnnxNode? add = null;
        foreach (var conv in convs)
        {
            var bn = walk.Next(conv, "BatchNormalization");
            var after = walk.OnlyConsumer(bn);
            if (after.OpType == "Add")
            {
                if (shortcut is not null) walk.Fail($"has two projection shortcuts reading {input}");
                shortcut = (conv, bn);
                continue;
            }
            if (main is not null) walk.Fail($"has two main paths reading {input}");
            main = [(conv, bn)];
            while (after.OpType == "Relu")
            {
                var next = walk.Next(after, "Conv");
                var nextBn = walk.Next(next, "BatchNormalization");
                main.Add((next, nextBn));
                after = walk.OnlyConsumer(nextBn);
            }
            if (after.OpType != "Add") walk.Fail($"continues a residual block with {after} instead of Add");
            add = after;
        }
        if (main is null || add is null) return walk.Fail<Block>($"has no residual path reading {input}");

        string identity = shortcut is var (_, shortcutBn) ? shortcutBn.Outputs[0] : input;
        var expected = new HashSet<string> { main[^1].Item2.Outputs[0], identity };
        if (add.Inputs.Count != 2 || !expected.SetEquals(add.Inputs))
            walk.Fail($"adds [{string.Join(", ", add.Inputs)}] in {add}, not the block's path and its shortcut");
        return new Block(main, shortcut, add);
    }

    static void AddConv(GraphWalk walk, Dictionary<string, HostTensor> state, HashSet<string> used, string key, OnnxNode conv)
    {
        if (conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0)
            walk.Fail($"gives {conv} a bias; torchvision's ResNet convolutions have none");
        var weight = walk.Weight(conv);
        state[$"{key}.weight"] = new HostTensor(weight.Dims, weight.Values);
        used.Add(weight.Name);
    }

    static void AddBatchNorm(GraphWalk walk, Dictionary<string, HostTensor> state, HashSet<string> used, string key, OnnxNode bn)
    {
        float epsilon = bn.Float("epsilon") ?? 1e-5f; // ONNX's default
        if (Math.Abs(epsilon - TorchBatchNormEpsilon) > 1e-7f)
            walk.Fail($"uses epsilon {epsilon} in {bn}; torchvision's BatchNorm2d uses {TorchBatchNormEpsilon}");
        if (bn.Inputs.Count != 5) walk.Fail($"gives {bn} {bn.Inputs.Count} inputs instead of X, scale, B, mean, var");
        // ONNX BatchNormalization inputs: X, scale, B, mean, var.
        string[] names = ["weight", "bias", "running_mean", "running_var"];
        for (int k = 0; k < names.Length; k++)
        {
            var tensor = walk.Initializer(bn.Inputs[k + 1], bn);
            state[$"{key}.{names[k]}"] = new HostTensor([tensor.Values.Length], tensor.Values);
            used.Add(tensor.Name);
        }
    }

    /// <summary>
    /// CNTK pads stride-2 windows asymmetrically (begin k/2, end k/2 - 1); that equals torchvision's symmetric
    /// k/2 at even input sizes, so both are accepted. Anything else would shift the sampling grid.
    /// </summary>
    static void CheckConv(GraphWalk walk, OnnxNode conv, int stride)
    {
        if ((conv.Int("group") ?? 1) != 1) walk.Fail($"uses grouped convolution in {conv}");
        if (conv.Ints("dilations").Any(d => d != 1)) walk.Fail($"uses dilation in {conv}");
        CheckWindow(walk, conv, kernel: (int)walk.Weight(conv).Dims[^1], stride);
    }

    static void CheckWindow(GraphWalk walk, OnnxNode node, int kernel, int stride)
    {
        var strides = node.Ints("strides");
        if (strides.Length != 2 || strides.Any(s => s != stride))
            walk.Fail($"strides {node} by [{string.Join(", ", strides)}]; torchvision's layout needs {stride}");
        if (node.Attributes.TryGetValue("auto_pad", out var autoPad) && autoPad.Text is { } mode && mode != "NOTSET")
            walk.Fail($"pads {node} with auto_pad {mode}");
        var pads = node.Ints("pads");
        if (pads.Length == 0) pads = new long[4];
        int begin = kernel / 2;
        bool ok = pads.Length == 4 && pads[0] == begin && pads[1] == begin
            && pads[2] <= begin && pads[3] <= begin && pads[2] >= begin - (stride - 1) && pads[3] >= begin - (stride - 1);
        if (!ok) walk.Fail($"pads {node} by [{string.Join(", ", pads)}]; torchvision pads a {kernel}x{kernel} window by {begin}");
    }
}
