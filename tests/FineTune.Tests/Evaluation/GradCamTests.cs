using FineTune.Evaluation;
using FineTune.Models;
using FineTune.Tests.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Evaluation;

/// <summary>
/// Grad-CAM's own rules, without PyTorch (GradCamPyTorchTests compares the numbers): maps in [0, 1] peaking at 1, all zeros
/// where nothing argues for the class, fp32 whatever the model's precision, and the model left as it was found.
/// </summary>
public class GradCamTests
{
    const int Size = 64;

    static Tensor Images(int n, int seed)
    {
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        return randn([n, 3, Size, Size], generator: generator);
    }

    [Fact]
    public void A_class_nothing_argues_for_gets_an_all_zero_map_and_one_with_evidence_peaks_at_one()
    {
        using var model = Tiny.Model();
        using (no_grad())
        {
            // layer4's output is non-negative (it ends in a ReLU): a classifier row of negative weights makes every
            // location lower class 0's score, so Grad-CAM's ReLU leaves nothing; positive weights make every one raise class 1's.
            model.Head.weight![0].fill_(-0.1);
            model.Head.weight![1].fill_(0.1);
        }
        using var images = Images(2, seed: 3);

        var maps = new GradCam(model, CPU).Compute(images, [0, 1]);

        Assert.Equal(2, maps.Length);
        Assert.All(maps, m => Assert.Equal(Size * Size, m.Length));
        Assert.All(maps[0], v => Assert.Equal(0f, v));
        Assert.Equal(1f, maps[1].Max(), 1e-6);
        Assert.All(maps[1], v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void A_bf16_model_is_explained_in_fp32_and_left_in_bf16_with_no_gradients_on_its_parameters()
    {
        using var model = Tiny.Model();
        using var images = Images(3, seed: 4);
        int[] targets = [0, 2, 3];
        var fp32 = new GradCam(model, CPU).Compute(images, targets);

        model.Precision = ComputePrecision.Bf16;
        model.train();
        var bf16 = new GradCam(model, CPU).Compute(images, targets);

        // The very same maps: bf16 autocast (about 3 significant digits) would move them by far more than rounding.
        for (var i = 0; i < targets.Length; i++) Assert.Equal(fp32[i], bf16[i]);
        Assert.Equal(ComputePrecision.Bf16, model.Precision);
        Assert.False(model.training, "Grad-CAM runs in eval mode, as every evaluation does");
        Assert.All(model.parameters(), p => Assert.True(p.grad is null, "a report must not leave gradients on the model"));
        Assert.True(is_grad_enabled(), "autograd is given back as it was found");
    }

    [Fact]
    public void One_target_class_per_image_is_required()
    {
        using var model = Tiny.Model();
        using var images = Images(2, seed: 5);
        var error = Assert.Throws<ArgumentException>(() => new GradCam(model, CPU).Compute(images, [0]));
        Assert.Contains("1 target classes for 2 images", error.Message);
    }
}
