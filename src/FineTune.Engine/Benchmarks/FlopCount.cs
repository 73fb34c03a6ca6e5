using FineTune.Models;

namespace FineTune.Benchmarks;

/// <summary>
/// Floating-point operations per image of our ResNets, counted from the architecture: every convolution
/// (2·Cin·Cout·K²·Hout·Wout, a multiply and an add per weight and output position) and the classifier (2·features·classes).
/// BatchNorm, ReLU, the residual adds and the pools are left out: together under 1% of a ResNet's count, and they do no
/// multiply-adds a peak could be reached with. Training counts three times the forward (forward, the gradient of the
/// input, the gradient of the weights), the usual convention; the stem's input gradient, which nothing needs, included.
/// </summary>
public static class FlopCount
{
    /// <summary>Forward FLOPs for one <paramref name="size"/>×<paramref name="size"/> image.</summary>
    public static double Forward(ResNetArchitecture a, int size, int classes)
    {
        double flops = 0;
        int h = Out(size, 7, 2, 3);
        flops += Conv(3, 64, 7, h);
        h = Out(h, 3, 2, 1); // max-pool
        int inplanes = 64;
        for (int stage = 0; stage < a.Layers.Length; stage++)
        {
            int planes = 64 << stage, stride = stage == 0 ? 1 : 2;
            for (int block = 0; block < a.Layers[stage]; block++)
            {
                int s = block == 0 ? stride : 1, hOut = Out(h, 3, s, 1);
                if (a.Block == BlockKind.Basic)
                    flops += Conv(inplanes, planes, 3, hOut) + Conv(planes, planes, 3, hOut);
                else // v1.5: the stride sits on the 3x3
                    flops += Conv(inplanes, planes, 1, h) + Conv(planes, planes, 3, hOut) + Conv(planes, planes * 4, 1, hOut);
                int outplanes = planes * a.Expansion;
                if (block == 0 && (s != 1 || inplanes != outplanes)) flops += Conv(inplanes, outplanes, 1, hOut);
                (inplanes, h) = (outplanes, hOut);
            }
        }
        return flops + 2.0 * a.FeatureCount * classes;
    }

    /// <summary>FLOPs per image for a benchmark mode: the forward for evaluation, three forwards for a training step.</summary>
    public static double PerImage(ResNetArchitecture a, int size, int classes, BenchmarkMode mode) =>
        Forward(a, size, classes) * (mode == BenchmarkMode.Train ? 3 : 1);

    static double Conv(int cin, int cout, int k, int hOut) => 2.0 * cin * cout * k * k * hOut * hOut;

    static int Out(int h, int k, int stride, int pad) => (h + 2 * pad - k) / stride + 1;
}
