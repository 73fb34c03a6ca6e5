using FineTune.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTune.Tests.Models;

/// <summary>
/// A ResNet as training leaves it for the parity tests of evaluation (folding, ONNX Runtime): random weights, and
/// BatchNorm statistics and affine terms far from identity, so a wrong fold or a wrong BatchNorm shows.
/// </summary>
static class TrainedLooking
{
    public static ResNet Model(string backbone, int seed, int classes = 10)
    {
        random.manual_seed(seed);
        var model = ModelFactory.Create(backbone, classes, TestSetup.Routing);
        using (no_grad())
            foreach (var bn in model.modules().OfType<BatchNorm2d>())
            {
                bn.running_mean!.copy_(randn_like(bn.running_mean) * 0.5);
                bn.running_var!.copy_(rand_like(bn.running_var) * 2 + 0.1);
                bn.weight!.copy_(rand_like(bn.weight) + 0.5);
                bn.bias!.copy_(randn_like(bn.bias) * 0.2);
            }
        model.eval();
        return model;
    }
}
