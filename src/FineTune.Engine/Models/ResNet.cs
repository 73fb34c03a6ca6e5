using FineTune.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FineTune.Models;

/// <summary>Which residual block a ResNet stacks: BasicBlock (18/34) or Bottleneck (50/101/152).</summary>
public enum BlockKind { Basic, Bottleneck }

/// <summary>The shape of a ResNet: its block kind and how many blocks each of the four stages holds.</summary>
public sealed record ResNetArchitecture(BlockKind Block, int[] Layers)
{
    public int Expansion => Block == BlockKind.Basic ? 1 : 4;
    public int FeatureCount => 512 * Expansion;
    public override string ToString() => $"{Block} [{string.Join(", ", Layers)}]";
}

/// <summary>
/// torchvision's ResNet, with the same module names, so a torchvision state dict
/// (conv1.weight, layer1.0.bn1.running_mean, layer2.0.downsample.0.weight, fc.bias, ...) loads as is.
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu;
    readonly MaxPool2d maxpool;
    readonly Sequential layer1, layer2, layer3, layer4;
    readonly AdaptiveAvgPool2d avgpool;
    readonly Linear fc;

    public ResNetArchitecture Architecture { get; }

    /// <summary>How this model's kernels run on this CPU (routes around failing convolutions, channels-last, the bf16 verdict), fixed when it is built.</summary>
    public KernelRouting Routing { get; }

    /// <summary>
    /// What the convolutions and the classifier compute in. For fp32 and bf16 the parameters stay fp32 (checkpoints,
    /// exports and the optimiser see fp32; bf16 is autocast, see <see cref="Autocast"/>) and the logits are fp32.
    /// fp64 (verification runs) moves the parameters and buffers themselves to float64, and back when set to another:
    /// in float64 there is nothing to autocast, and the optimiser and checkpoints must keep every bit.
    /// </summary>
    public ComputePrecision Precision
    {
        get => _precision;
        set
        {
            var parameters = value == ComputePrecision.Fp64 ? ScalarType.Float64 : ScalarType.Float32;
            if (fc.weight!.dtype != parameters) this.to(parameters);
            _precision = value;
        }
    }
    ComputePrecision _precision = ComputePrecision.Fp32;

    public int NumClasses => (int)fc.weight!.shape[0];

    /// <param name="routing">How its kernels run (default: libtorch's own, unchecked); the kernel check's plan makes one.</param>
    public ResNet(ResNetArchitecture architecture, int numClasses = 1000, KernelRouting? routing = null) : base("ResNet")
    {
        if (architecture.Layers.Length != 4 || architecture.Layers.Any(n => n < 1))
            throw new ArgumentException($"A ResNet needs four stages of at least one block each; got [{string.Join(", ", architecture.Layers)}].");
        Architecture = architecture;
        Routing = routing ?? KernelRouting.Default;
        int inplanes = 64;
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        relu = ReLU(inplace: true);
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        layer1 = MakeStage(ref inplanes, 64, architecture.Layers[0], 1);
        layer2 = MakeStage(ref inplanes, 128, architecture.Layers[1], 2);
        layer3 = MakeStage(ref inplanes, 256, architecture.Layers[2], 2);
        layer4 = MakeStage(ref inplanes, 512, architecture.Layers[3], 2);
        avgpool = AdaptiveAvgPool2d(1);
        fc = Linear(architecture.FeatureCount, numClasses);
        RegisterComponents();

        // torchvision's initialisation: He (fan_out) for convolutions, BatchNorm at identity.
        foreach (var (_, module) in named_modules())
        {
            if (module is Conv2d conv) init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
        }
    }

    Sequential MakeStage(ref int inplanes, int planes, int blocks, int stride)
    {
        var expansion = Architecture.Expansion;
        var modules = new List<Module<Tensor, Tensor>>();
        for (int i = 0; i < blocks; i++)
        {
            int s = i == 0 ? stride : 1;
            Sequential? downsample = null;
            if (i == 0 && (stride != 1 || inplanes != planes * expansion))
                downsample = Sequential(Conv2d(inplanes, planes * expansion, 1, stride: s, bias: false), BatchNorm2d(planes * expansion));
            modules.Add(Architecture.Block == BlockKind.Basic
                ? new BasicBlock(inplanes, planes, s, downsample, Routing)
                : new Bottleneck(inplanes, planes, s, downsample, Routing));
            inplanes = planes * expansion;
        }
        return Sequential(modules);
    }

    /// <summary>The globally pooled features ([N, 512·expansion]), i.e. everything but the classifier.</summary>
    public Tensor Features(Tensor x) => Features(x, 0);

    /// <summary>The pooled features from stage <paramref name="fromStage"/>'s input (<see cref="Stages"/>' numbering): x is the output of the stages before it.</summary>
    public Tensor Features(Tensor x, int fromStage)
    {
        if (fromStage == StageCount) return Pool(x); // Stages would hand back x itself, which is the caller's to free
        using var map = Stages(x, fromStage, StageCount);
        return Pool(map);
    }

    /// <summary>
    /// The last stage's output, [N, 512·expansion, H/32, W/32], in the compute dtype (bf16 under autocast): the map the
    /// pooled features average, and the one Grad-CAM looks at (<see cref="Evaluation.GradCam"/>).
    /// </summary>
    public Tensor FeatureMap(Tensor x) => Stages(x, 0, StageCount);

    /// <summary>The stem and the four stages of blocks: what <see cref="Stages"/> counts in.</summary>
    public const int StageCount = 5;

    /// <summary>
    /// Stages <paramref name="from"/> up to (not including) <paramref name="to"/> of the network, 0 being the stem (conv1,
    /// bn1, relu, maxpool) and 1-4 layer1-layer4: <c>Stages(Stages(x, 0, k), k, StageCount)</c> is <see cref="FeatureMap"/>.
    /// Training with frozen stages runs their part alone (<see cref="Training.TrainingStep.Prefix"/>, unfolded, since autograd
    /// stays on), and an activation cache keeps their output; from == to returns x itself.
    /// </summary>
    public Tensor Stages(Tensor x, int from, int to)
    {
        if (from < 0 || to > StageCount || from > to) throw new ArgumentOutOfRangeException(nameof(from), $"stages {from}..{to} of 0..{StageCount}");
        if (from == to) return x;
        using var scope = NewDisposeScope();
        var computeIn = Autocast.DtypeOf(Precision);
        var y = x.dtype == computeIn ? x.alias() : x.to(computeIn); // keeps a channels-last batch channels-last
        if (from == 0)
        {
            y = Then(y, ConvBatchNorm.Apply(Routing, conv1, bn1, y));
            y = Then(y, relu.call(y));
            y = Then(y, maxpool.call(y));
        }
        var stages = (Sequential[])[layer1, layer2, layer3, layer4];
        for (int stage = Math.Max(from, 1); stage < to; stage++)
            foreach (var block in stages[stage - 1].children())
                y = Then(y, ((Module<Tensor, Tensor>)block).call(y));
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>The logits from a <see cref="FeatureMap"/>: what <see cref="forward"/> computes after the last stage.</summary>
    public Tensor Logits(Tensor featureMap)
    {
        using var features = Pool(featureMap);
        return Autocast.Linear(fc, features, Autocast.DtypeOf(Precision));
    }

    /// <summary>Global average pooling of a feature map to [N, channels], in the logits' dtype.</summary>
    Tensor Pool(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        var y = flatten(avgpool.call(featureMap), 1);
        var outputIn = Autocast.LogitsDtypeOf(Precision);
        return (y.dtype == outputIn ? y : y.to(outputIn)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Releases our handle on <paramref name="previous"/> as soon as the next layer has consumed it, and
    /// returns <paramref name="next"/>. Why: a dispose scope alone frees a forward's intermediates only at
    /// its end, so in evaluation every block output of the network stayed alive at once (about 1 GB more
    /// peak for ResNet-50 at batch 32 than PyTorch, which frees each as soon as it is unused). Autograd
    /// keeps its own references to what backward needs, so this is safe in training too.
    /// </summary>
    internal static Tensor Then(Tensor previous, Tensor next)
    {
        if (!ReferenceEquals(previous, next)) previous.Dispose();
        return next;
    }

    /// <summary>
    /// A block's shortcut: x itself, or its downsample (1x1 convolution, then BatchNorm) through
    /// <see cref="ConvBatchNorm"/> (and so <paramref name="routing"/>) like every other one.
    /// </summary>
    internal static Tensor Shortcut(KernelRouting routing, Sequential? downsample, Tensor x)
    {
        if (downsample is null) return x;
        var parts = downsample.children().ToArray();
        return ConvBatchNorm.Apply(routing, (Conv2d)parts[0], (BatchNorm2d)parts[1], x);
    }

    public override Tensor forward(Tensor x)
    {
        using var features = Features(x);
        return Autocast.Linear(fc, features, Autocast.DtypeOf(Precision));
    }

    /// <summary>The classifier, for optimiser groups with their own learning rate.</summary>
    public Linear Head => fc;

    /// <summary>
    /// The stem (conv1, bn1) and the first <paramref name="stages"/> of the four stages: what training.freeze_stages keeps
    /// fixed. Early layers hold generic edges and textures; freezing them skips their backward pass.
    /// </summary>
    public IEnumerable<nn.Module> EarlyModules(int stages)
    {
        if (stages < 0 || stages > 4) throw new ArgumentOutOfRangeException(nameof(stages), stages, "a ResNet has stages 0..4 to freeze");
        if (stages == 0) yield break;
        yield return conv1;
        yield return bn1;
        foreach (var stage in new[] { layer1, layer2, layer3, layer4 }.Take(stages)) yield return stage;
    }

    /// <summary>Everything but the classifier.</summary>
    public IEnumerable<Parameter> BackboneParameters() =>
        named_parameters().Where(p => !p.name.StartsWith("fc.", StringComparison.Ordinal)).Select(p => p.parameter);

    /// <summary>Replaces the classifier for <paramref name="numClasses"/> classes, initialised as the seed does (Xavier-uniform weight, zero bias).</summary>
    public void ResetClassifier(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentException($"num_classes must be at least 1; got {numClasses}.");
        // TorchSharp cannot re-register a submodule, so the head keeps its module and gets new parameters.
        using (no_grad())
        {
            var device = fc.weight!.device;
            var weight = empty(numClasses, Architecture.FeatureCount, device: device);
            init.xavier_uniform_(weight);
            fc.weight = new Parameter(weight); // takes over the native handle of `weight`
            fc.bias = new Parameter(zeros(numClasses, device: device));
        }
    }
}

/// <summary>torchvision's BasicBlock: two 3x3 convolutions and a shortcut.</summary>
sealed class BasicBlock : Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2;
    readonly BatchNorm2d bn1, bn2;
    readonly ReLU relu;
    readonly Sequential? downsample;
    readonly KernelRouting routing;

    public BasicBlock(int inplanes, int planes, int stride, Sequential? downsample, KernelRouting routing) : base("BasicBlock")
    {
        this.routing = routing;
        conv1 = Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(planes);
        relu = ReLU(inplace: true);
        conv2 = Conv2d(planes, planes, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = ConvBatchNorm.Apply(routing, conv1, bn1, x);
        y = ResNet.Then(y, relu.call(y));
        y = ResNet.Then(y, ConvBatchNorm.Apply(routing, conv2, bn2, y));
        var identity = ResNet.Shortcut(routing, downsample, x);
        return relu.call(y.add_(identity, Scalars.One)).MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's Bottleneck (ResNet v1.5: the stride sits on the 3x3 convolution).</summary>
sealed class Bottleneck : Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2, conv3;
    readonly BatchNorm2d bn1, bn2, bn3;
    readonly ReLU relu;
    readonly Sequential? downsample;
    readonly KernelRouting routing;

    public Bottleneck(int inplanes, int planes, int stride, Sequential? downsample, KernelRouting routing) : base("Bottleneck")
    {
        this.routing = routing;
        conv1 = Conv2d(inplanes, planes, 1, bias: false);
        bn1 = BatchNorm2d(planes);
        conv2 = Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        bn2 = BatchNorm2d(planes);
        conv3 = Conv2d(planes, planes * 4, 1, bias: false);
        bn3 = BatchNorm2d(planes * 4);
        relu = ReLU(inplace: true);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = ConvBatchNorm.Apply(routing, conv1, bn1, x);
        y = ResNet.Then(y, relu.call(y));
        y = ResNet.Then(y, ConvBatchNorm.Apply(routing, conv2, bn2, y));
        y = ResNet.Then(y, relu.call(y));
        y = ResNet.Then(y, ConvBatchNorm.Apply(routing, conv3, bn3, y));
        var identity = ResNet.Shortcut(routing, downsample, x);
        return relu.call(y.add_(identity, Scalars.One)).MoveToOuterDisposeScope();
    }
}
