using FineTune.Config;
using FineTune.Export;
using FineTune.Models;
using FineTune.Tests.Training;
using Xunit;

namespace FineTune.Tests.Export;

/// <summary>
/// Exports compute in fp32 whatever the training precision, while `finetune predict` on a checkpoint computes in its
/// training.precision: where that is bf16, export's output and predict's precision line say so, so that nobody takes
/// the small difference between the two for an unfaithful export.
/// </summary>
public sealed class ExportPrecisionNoteTests
{
    [Fact]
    public void Export_and_predict_say_when_the_checkpoint_predicts_in_bf16_but_its_export_is_fp32()
    {
        var dir = Tiny.TempFolder();
        var bf16 = ExportFixtures.TorchvisionCheckpoint(dir, evalSize: 64, resize: EvalResize.Stretch, precision: PrecisionSetting.Bf16);
        var export = FinetuneProgram.Run(dir, "export", "--format", "onnx", "--model_path", bf16, "--output", Path.Combine(dir, "model.onnx")).Succeeded();
        Assert.Contains("this export computes in fp32, while `finetune predict` on the checkpoint computes in bf16 here (training.precision: bf16)", export.Out);

        var image = ExportImages.WriteSquarePng(Path.Combine(dir, "scene.png"), seed: 2, size: 64);
        var predict = FinetuneProgram.Run(dir, "predict", "--model_path", bf16, image).Succeeded();
        Assert.Single((predict.Out + predict.Err).Split('\n'),
            l => l.StartsWith("Precision: bf16 (", StringComparison.Ordinal) && l.EndsWith("; " + ModelExport.Bf16PredictNote, StringComparison.Ordinal));
        var asFp32 = FinetuneProgram.Run(dir, "predict", "--model_path", bf16, image, "--precision", "fp32").Succeeded();
        Assert.Contains("Precision: fp32 (asked for)", asFp32.Out + asFp32.Err);
        Assert.DoesNotContain(ModelExport.Bf16PredictNote, asFp32.Out + asFp32.Err);

        // Trained in fp32: predict computes in fp32 too, and export has nothing to add.
        var fp32Dir = Tiny.TempFolder();
        var fp32 = ExportFixtures.TorchvisionCheckpoint(fp32Dir, evalSize: 64, resize: EvalResize.Stretch, precision: PrecisionSetting.Fp32);
        var plain = FinetuneProgram.Run(fp32Dir, "export", "--model_path", fp32, "--output", Path.Combine(fp32Dir, "model.pth")).Succeeded();
        Assert.DoesNotContain("bf16", plain.Out);
    }
}
