using FineTune.Config;
using FineTune.Models;
using FineTune.Tests.Cli;
using FineTune.Training;
using FineTune.Training.Checkpoints;
using FineTune.Weights;
using System.IO.Compression;
using Xunit;
using static TorchSharp.torch;

namespace FineTune.Tests.Training;

/// <summary>bf16 training keeps fp32 master weights: what it saves is fp32 on disk, and loads and tests in fp32.</summary>
public class Bf16CheckpointTests
{
    [Fact]
    public void A_bf16_trained_checkpoint_is_fp32_on_disk_and_loads_and_runs_in_fp32()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 1, t => t with { Precision = PrecisionSetting.Bf16 });
        using var model = Tiny.Model();
        new Trainer(config, new ModelToTrain(model, Preprocessing.ImageNet), Tiny.Data(config), RunContext.Silent()).Run();
        Assert.Equal(ComputePrecision.Bf16, model.Precision); // the trainer ran it in bf16

        var path = Path.Combine(config.Experiment.RunCheckpointDir, "checkpoint_best.ckpt");
        var onDisk = SavedDtypes(path);
        Assert.Equal(model.state_dict().Count, onDisk.Count);
        foreach (var (name, dtype) in onDisk)
            Assert.True(dtype == (name.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? ScalarType.Int64 : ScalarType.Float32), $"{name} is saved as {dtype}");

        var checkpoint = CheckpointFile.Load(path);
        using var restored = checkpoint.CreateModel(TestSetup.Routing);
        Assert.Equal(ComputePrecision.Fp32, restored.Precision);
        Assert.Equal(0, Tiny.MaxDifference(model, restored));
        restored.eval();
        using var _ = no_grad();
        using var logits = restored.call(randn(2, 3, 32, 32));
        Assert.Equal(ScalarType.Float32, logits.dtype);

        // The PyTorch export of a bf16-trained run is an fp32 state dict too.
        var pth = Path.Combine(Tiny.TempFolder(), "bf16.pth");
        PyTorchExport.FromCheckpoint(path, pth);
        var exported = StateDictFile.Read(pth);
        foreach (var (name, t) in exported)
        {
            Assert.True(t.dtype is ScalarType.Float32 or ScalarType.Int64, $"{name} is exported as {t.dtype}");
            t.Dispose();
        }
    }

    [Fact]
    public void Train_test_and_predict_each_print_the_precision_they_use()
    {
        var dir = Tiny.TempFolder();
        File.WriteAllText(Path.Combine(dir, "synth.yaml"), TestCommandTests.SyntheticYaml(dir, "bf16_run", seed: 5));
        var train = FinetuneProgram.Run(dir, "train", "--config", "synth.yaml", "--precision", "bf16").Succeeded();
        Assert.Single(train.Out.Split('\n'), l => l.StartsWith("Precision: bf16 (asked for", StringComparison.Ordinal));
        var checkpoint = Path.Combine(dir, "ckpt", "bf16_run", "checkpoint_best.ckpt");

        var test = FinetuneProgram.Run(dir, "test", "--config", "synth.yaml", "--model_path", checkpoint, "--output_dir", "reports", "--precision", "fp32").Succeeded();
        Assert.Contains("Precision: fp32 (asked for)", test.Out);
        Assert.Contains("Test accuracy:", test.Out);

        var image = Path.Combine(dir, "one.png");
        SyntheticDatasetImage(image);
        var predict = FinetuneProgram.Run(dir, "predict", "--model_path", checkpoint, image, "--precision", "bf16", "--json").Succeeded();
        Assert.Contains("Precision: bf16 (asked for", predict.Err);
        Assert.StartsWith("[", predict.Out.TrimStart()); // stdout stays JSON

        var wrong = FinetuneProgram.Run(dir, "test", "--config", "synth.yaml", "--model_path", checkpoint, "--precision", "fp16");
        Assert.Equal(2, wrong.Code);
        Assert.Contains("--precision takes fp32, bf16 or auto", wrong.Err);
    }

    /// <summary>(name, dtype) of each tensor in a checkpoint's model.bin, read from TorchSharp's format itself.</summary>
    static List<(string Name, ScalarType Dtype)> SavedDtypes(string checkpoint)
    {
        using var zip = ZipFile.OpenRead(checkpoint);
        using var stream = zip.GetEntry("model.bin")!.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        buffer.Position = 0;
        using var reader = new BinaryReader(buffer);
        var result = new List<(string, ScalarType)>();
        long count = Leb128(reader);
        for (long i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var dtype = (ScalarType)Leb128(reader);
            long elements = 1, dims = Leb128(reader);
            for (long d = 0; d < dims; d++) elements *= Leb128(reader);
            reader.BaseStream.Seek(elements * ElementSize(dtype), SeekOrigin.Current);
            result.Add((name, dtype));
        }
        Assert.Equal(buffer.Length, buffer.Position); // read to the end: the format was parsed right
        return result;
    }

    static long Leb128(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }

    static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.BFloat16 or ScalarType.Float16 => 2,
        _ => throw new InvalidDataException($"unexpected dtype {t} in model.bin"),
    };

    static void SyntheticDatasetImage(string path)
    {
        using var bitmap = new SkiaSharp.SKBitmap(40, 40);
        bitmap.Erase(new SkiaSharp.SKColor(200, 80, 40));
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
