using FineTune.Models;

namespace FineTune.Kernels;

/// <summary>Memory layout of a 4-D activation: NCHW, or channels-last (NHWC storage, NCHW shape).</summary>
public enum Layout { Nchw, ChannelsLast }

/// <summary>Element type a kernel computes in: fp32, or bf16 (as autocast runs convolutions and the linear layer).</summary>
public enum KernelDtype { Fp32, Bf16 }

/// <summary>What a probe exercises. BatchNorm uses batch statistics (training); BatchNormEval the running ones (evaluation, freeze_batchnorm).</summary>
public enum ProbeOp { Conv, BatchNorm, MaxPool, AvgPool, Linear, BatchNormEval }

/// <summary>
/// One operation of a ResNet at one size: for a convolution <c>Cin</c>→<c>Cout</c> channels with a KxK kernel,
/// stride and padding on an HxH input; for the others, <c>Cin</c> channels (Linear: <c>Cin</c>→<c>Cout</c> features).
/// </summary>
public sealed record OpShape(ProbeOp Op, int Cin, int Cout, int K, int Stride, int Pad, int H)
{
    public int OutH => Op switch
    {
        ProbeOp.Conv or ProbeOp.MaxPool => (H + 2 * Pad - K) / Stride + 1,
        ProbeOp.AvgPool => 1,
        _ => H,
    };

    /// <summary>What a convolution route is chosen for: the same kernel shape at any spatial size.</summary>
    public string ConvKey => $"{K}x{K} {Cin}->{Cout} s{Stride}";

    public override string ToString() => Op switch
    {
        ProbeOp.Conv => $"conv {ConvKey} @{H}",
        ProbeOp.BatchNorm => $"batchnorm {Cin} @{H}",
        ProbeOp.BatchNormEval => $"batchnorm eval {Cin} @{H}",
        ProbeOp.MaxPool => $"maxpool {K}x{K} s{Stride} {Cin} @{H}",
        ProbeOp.AvgPool => $"avgpool {Cin} @{H}",
        _ => $"linear {Cin}->{Cout}",
    };
}

/// <summary>
/// The distinct operations a torchvision ResNet runs at an input size. Repeated blocks share shapes, so
/// ResNet-18 and -34 (BasicBlock) need the same probes, and so do ResNet-50, -101 and -152 (Bottleneck).
/// </summary>
public static class ResNetShapes
{
    public static IReadOnlyList<OpShape> For(BlockKind block, int imageSize, int numClasses)
    {
        var shapes = new List<OpShape>();
        void Conv(int cin, int cout, int k, int stride, int pad, int h)
        {
            var c = new OpShape(ProbeOp.Conv, cin, cout, k, stride, pad, h);
            shapes.Add(c);
            shapes.Add(new OpShape(ProbeOp.BatchNorm, cout, cout, 1, 1, 0, c.OutH));
        }

        Conv(3, 64, 7, 2, 3, imageSize);
        int h = (imageSize + 6 - 7) / 2 + 1;
        var pool = new OpShape(ProbeOp.MaxPool, 64, 64, 3, 2, 1, h);
        shapes.Add(pool);
        h = pool.OutH;
        int inplanes = 64, expansion = block == BlockKind.Basic ? 1 : 4;
        foreach (var (planes, stride) in new[] { (64, 1), (128, 2), (256, 2), (512, 2) })
        {
            int outH = (h + 2 - 3) / stride + 1;
            // The first block of a stage (with its shortcut), then one representative of the repeated blocks.
            if (block == BlockKind.Basic)
            {
                Conv(inplanes, planes, 3, stride, 1, h);
                Conv(planes, planes, 3, 1, 1, outH);
            }
            else
            {
                Conv(inplanes, planes, 1, 1, 0, h);
                Conv(planes, planes, 3, stride, 1, h);
                Conv(planes, planes * 4, 1, 1, 0, outH);
                Conv(planes * 4, planes, 1, 1, 0, outH);
                Conv(planes, planes, 3, 1, 1, outH);
            }
            if (stride != 1 || inplanes != planes * expansion) Conv(inplanes, planes * expansion, 1, stride, 0, h);
            inplanes = planes * expansion;
            h = outH;
        }
        shapes.Add(new OpShape(ProbeOp.AvgPool, inplanes, inplanes, h, 1, 0, h));
        shapes.Add(new OpShape(ProbeOp.Linear, inplanes, numClasses, 1, 1, 0, 1));
        return shapes.Distinct().ToList();
    }
}
