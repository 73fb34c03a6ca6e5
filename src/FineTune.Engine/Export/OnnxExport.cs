using System.Text.Json;
using FineTune.IO;
using FineTune.Models;
using FineTune.Weights;
using Google.Protobuf;
using Onnx;
using static FineTune.Prediction.OnnxModelFile;
using static TorchSharp.torch;
using FineTune.Training.Checkpoints;

namespace FineTune.Export;

/// <summary>
/// Writes a ResNet as one ONNX graph: float32 RGB images in 0..1 (NCHW, any batch size, already resized as
/// <see cref="ExportSource.Eval"/> says) in; logits and softmax probabilities out. The model's whole preprocessing
/// (pixel scale, channel order, mean image or mean, std) is inside the graph, exactly as
/// <see cref="Preprocessing.Normalize"/> computes it, so a runtime only resizes. Metadata props carry the class names,
/// input size, resize mode, backbone, weights' provenance and FineTune's version.
/// Opset 13 and IR version 8: what ONNX 1.12's checker (Debian 12) and current ONNX Runtime both accept.
/// </summary>
public static class OnnxExport
{
    public const int Opset = 13;
    public const long IrVersion = 8;

    /// <summary>Writes <paramref name="model"/> (eval-mode semantics: BatchNorm on running statistics) to <paramref name="path"/> atomically.</summary>
    public static void Save(ResNet model, ExportSource source, string path)
    {
        var proto = Build(model, source);
        AtomicWrite.With(path, stream => proto.WriteTo(stream));
    }

    internal static ModelProto Build(ResNet model, ExportSource source)
    {
        var weights = Weights(model);
        var g = new OnnxGraph();
        int size = source.Eval.Size;
        g.Graph.Name = $"finetune_{source.Backbone}";
        g.Graph.DocString = InputDoc(source);
        g.Graph.Input.Add(OnnxGraph.FloatTensor(InputName, InputDoc(source), "batch", null, 3, size, size));
        g.Graph.Output.Add(OnnxGraph.FloatTensor(LogitsName, "class scores before softmax, in the order of metadata class_names", "batch", null, source.ClassNames.Length));
        g.Graph.Output.Add(OnnxGraph.FloatTensor(ProbabilitiesName, "softmax of the logits", "batch", null, source.ClassNames.Length));

        var x = Preprocess(g, source.Preprocessing, size);
        x = Features(g, x, model.Architecture, weights);
        x = g.Node("Flatten", [x], OnnxGraph.Int("axis", 1));
        var logits = g.Node("Gemm", [x, g.Constant("fc.weight", weights["fc.weight"].Values, weights["fc.weight"].Shape),
            g.Constant("fc.bias", weights["fc.bias"].Values, weights["fc.bias"].Shape)], LogitsName, OnnxGraph.Int("transB", 1));
        g.Node("Softmax", [logits], ProbabilitiesName, OnnxGraph.Int("axis", 1));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "FineTune",
            ProducerVersion = source.FineTuneVersion,
            ModelVersion = 1,
            DocString = $"{source.Backbone} image classifier exported by FineTune. {InputDoc(source)} Outputs: logits and probabilities [batch, {source.ClassNames.Length}].",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in Metadata(source))
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    /// <summary>The input of <see cref="Network"/>'s graph: normalised images, [batch, 3, height, width].</summary>
    internal const string NetworkInput = "images";

    /// <summary>The output of <see cref="Network"/>'s graph: <see cref="LogitsName"/>, or this for the pooled features.</summary>
    internal const string FeaturesOutput = "features";

    /// <summary>
    /// The network alone, for evaluating on ONNX Runtime (<see cref="OnnxRuntimeEngine"/>): normalised NCHW images of
    /// <paramref name="height"/> x <paramref name="width"/> in (the loader has already applied the preprocessing), any
    /// batch; the pooled features or the logits out; the same layers as <see cref="Build"/>, serialised. Fixed image
    /// sizes let ONNX Runtime plan its memory and layouts once. <paramref name="weights"/>: <see cref="Weights"/>.
    /// </summary>
    internal static byte[] Network(ResNetArchitecture architecture, Dictionary<string, HostTensor> weights, bool features, long height, long width)
    {
        var g = new OnnxGraph();
        g.Graph.Name = "finetune_eval";
        g.Graph.Input.Add(OnnxGraph.FloatTensor(NetworkInput, "normalised images, NCHW", "batch", null, 3, height, width));
        var x = Features(g, NetworkInput, architecture, weights);
        x = g.Node("Flatten", [x], FeaturesOutput, OnnxGraph.Int("axis", 1));
        if (!features)
            x = g.Node("Gemm", [x, g.Constant("fc.weight", weights["fc.weight"].Values, weights["fc.weight"].Shape),
                g.Constant("fc.bias", weights["fc.bias"].Values, weights["fc.bias"].Shape)], LogitsName, OnnxGraph.Int("transB", 1));
        g.Graph.Output.Add(OnnxGraph.FloatTensor(x, features ? "pooled features" : "logits", "batch", null, features ? weights["fc.weight"].Shape[1] : weights["fc.weight"].Shape[0]));
        var proto = new ModelProto { IrVersion = IrVersion, ProducerName = "FineTune", Graph = g.Graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return proto.ToByteArray();
    }

    static string InputDoc(ExportSource s) =>
        $"Input {InputName}: float32 [batch, 3, {s.Eval.Size}, {s.Eval.Size}], RGB channel order, values 0..1 (8-bit pixel / 255), NCHW. "
        + $"Before it: {s.ResizeDescription}. The graph then does the model's own preprocessing ({s.Preprocessing}).";

    static IEnumerable<(string, string)> Metadata(ExportSource s)
    {
        yield return (ClassNamesKey, JsonSerializer.Serialize(s.ClassNames));
        yield return (InputSizeKey, s.Eval.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return (ResizeKey, s.ResizeName);
        yield return (CropFractionKey, s.Eval.CropFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        yield return (InputKey, "float32 RGB 0..1 NCHW");
        yield return (PreprocessingKey, $"inside the graph: {s.Preprocessing}");
        yield return (BackboneKey, s.Backbone);
        yield return (ArchitectureKey, s.Architecture.ToString());
        yield return (WeightsKey, s.WeightsProvenance);
        yield return (VersionKey, s.FineTuneVersion);
    }

    /// <summary>(rgb01 · scale, reordered) − mean, / std: the order of <see cref="Preprocessing.Normalize"/>, so the numbers agree to rounding.</summary>
    static string Preprocess(OnnxGraph g, Preprocessing p, int size)
    {
        string x = InputName;
        if (p.PixelScale != 1f) x = g.Node("Mul", [x, g.Constant("pixel_scale", [p.PixelScale])]);
        if (p.ChannelOrder == ChannelOrder.Bgr) x = g.Node("Gather", [x, g.Constant("rgb_to_bgr", [2L, 1L, 0L], 3)], OnnxGraph.Int("axis", 1));
        var mean = p.MeanImage is { } image
            ? g.Constant("mean_image", image.ResizedTo(size, size), 1, 3, size, size)
            : g.Constant("mean", p.Mean, 1, 3, 1, 1);
        x = g.Node("Sub", [x, mean]);
        return g.Node("Div", [x, g.Constant("std", p.Std, 1, 3, 1, 1)]);
    }

    static string Features(OnnxGraph g, string x, ResNetArchitecture arch, Dictionary<string, HostTensor> w)
    {
        x = ConvBn(g, x, "conv1", "bn1", w, stride: 2, pad: 3, relu: true);
        x = g.Node("MaxPool", [x], OnnxGraph.Ints("kernel_shape", 3, 3), OnnxGraph.Ints("strides", 2, 2), OnnxGraph.Ints("pads", 1, 1, 1, 1));
        for (int stage = 0; stage < 4; stage++)
        {
            for (int block = 0; block < arch.Layers[stage]; block++)
            {
                var prefix = $"layer{stage + 1}.{block}.";
                int stride = block == 0 && stage > 0 ? 2 : 1;
                var identity = w.ContainsKey(prefix + "downsample.0.weight")
                    ? ConvBn(g, x, prefix + "downsample.0", prefix + "downsample.1", w, stride, pad: 0, relu: false)
                    : x;
                string y;
                if (arch.Block == BlockKind.Basic)
                {
                    y = ConvBn(g, x, prefix + "conv1", prefix + "bn1", w, stride, pad: 1, relu: true);
                    y = ConvBn(g, y, prefix + "conv2", prefix + "bn2", w, 1, pad: 1, relu: false);
                }
                else
                {
                    // torchvision v1.5: the stride sits on the 3x3 convolution.
                    y = ConvBn(g, x, prefix + "conv1", prefix + "bn1", w, 1, pad: 0, relu: true);
                    y = ConvBn(g, y, prefix + "conv2", prefix + "bn2", w, stride, pad: 1, relu: true);
                    y = ConvBn(g, y, prefix + "conv3", prefix + "bn3", w, 1, pad: 0, relu: false);
                }
                x = g.Node("Relu", [g.Node("Add", [y, identity])]);
            }
        }
        return g.Node("GlobalAveragePool", [x]);
    }

    static string ConvBn(OnnxGraph g, string x, string conv, string bn, Dictionary<string, HostTensor> w, int stride, int pad, bool relu)
    {
        var kernel = w[conv + ".weight"];
        x = g.Node("Conv", [x, g.Constant(conv + ".weight", kernel.Values, kernel.Shape)],
            OnnxGraph.Ints("kernel_shape", kernel.Shape[2], kernel.Shape[3]), OnnxGraph.Ints("strides", stride, stride),
            OnnxGraph.Ints("pads", pad, pad, pad, pad));
        string Param(string name) => g.Constant($"{bn}.{name}", w[$"{bn}.{name}"].Values, w[$"{bn}.{name}"].Shape);
        // TorchSharp's BatchNorm2d default eps (1e-5), which every FineTune ResNet uses.
        x = g.Node("BatchNormalization", [x, Param("weight"), Param("bias"), Param("running_mean"), Param("running_var")], OnnxGraph.Float("epsilon", 1e-5f));
        return relu ? g.Node("Relu", [x]) : x;
    }

    /// <summary>The model's float tensors by torchvision name, copied to managed memory in NCHW order (so later training steps do not change them).</summary>
    internal static Dictionary<string, HostTensor> Weights(ResNet model)
    {
        var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in model.state_dict())
        {
            if (tensor.dtype != ScalarType.Float32) continue; // num_batches_tracked
            using var host = tensor.detach().to(CPU).contiguous();
            result[name] = new HostTensor(host.shape, host.data<float>().ToArray());
        }
        return result;
    }
}
