using System.Text;
using FineTune.Training;
using FineTune.Training.TensorBoard;
using FineTune.Tests.Training.TensorBoard;
using Xunit;

namespace FineTune.Tests.Training;

public class TensorBoardTests
{
    [Fact]
    public void Crc32c_matches_the_standard_check_value()
    {
        // The CRC-32C check value of "123456789" (RFC 3720, Castagnoli).
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Events_read_back_with_their_steps_values_and_plugins()
    {
        var dir = Tiny.TempFolder();
        string path;
        using (var w = new EventWriter(dir))
        {
            path = w.FilePath;
            w.AddScalar("train/loss", 1.25, 7);
            w.AddText("config", "base_lr: 1e-5", 0);
            w.AddHParams(new Dictionary<string, object> { ["optimizer"] = "adamw", ["base_lr"] = 1e-5, ["pretrained"] = true },
                new Dictionary<string, double> { ["hparam/best_val_accuracy"] = 0.9 });
        }
        Assert.Contains("tfevents", Path.GetFileName(path));
        var events = EventReader.Read(path);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var loss = events.Single(e => e.Values.Any(v => v.Tag == "train/loss"));
        Assert.Equal(7, loss.Step);
        Assert.Equal(1.25f, loss.Values[0].Scalar);
        var text = events.SelectMany(e => e.Values).Single(v => v.Tag == "config");
        Assert.Equal(("text", "base_lr: 1e-5"), (text.Plugin, text.Text));
        var hparams = events.SelectMany(e => e.Values).Where(v => v.Plugin == "hparams").Select(v => v.Tag).ToList();
        Assert.Equal(["_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"], hparams);
    }

    [Fact]
    public void A_flipped_byte_fails_the_crc()
    {
        var dir = Tiny.TempFolder();
        string path;
        using (var w = new EventWriter(dir)) { path = w.FilePath; w.AddScalar("a", 1, 1); }
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<CorruptRecordException>(() => EventReader.Read(path));
    }

    [Fact]
    public void A_training_run_logs_the_seeds_scalars()
    {
        var config = Tiny.Config(Tiny.TempFolder(), epochs: 2);
        var data = Tiny.Data(config);
        new Trainer(config, new ModelToTrain(Tiny.Model(), FineTune.Weights.Preprocessing.ImageNet), data, RunContext.Silent()).Run();
        var scalars = EventReader.Scalars(config.Experiment.RunLogDir);
        int steps = 2 * data.Train.BatchCount;
        Assert.Equal(Enumerable.Range(1, steps).Select(s => (long)s), scalars["train/loss"].Select(p => p.Step));
        Assert.Equal(steps, scalars["train/accuracy"].Count);
        foreach (var tag in new[] { "val/epoch_loss", "val/epoch_accuracy", "epoch/train_loss", "epoch/train_accuracy", "epoch/val_loss", "epoch/val_accuracy", "lr/backbone", "lr/classifier" })
            Assert.Equal([1L, 2L], scalars[tag].Select(p => p.Step));
        Assert.Equal(1e-3f, scalars["lr/backbone"][0].Value, 6);
        Assert.Equal(1e-2f, scalars["lr/classifier"][0].Value, 6);
        Assert.Contains("hparam/best_val_accuracy", scalars.Keys);
    }

    [PythonFact("google.protobuf", "python3-protobuf")]
    public void An_independent_reader_decodes_the_events_with_tensorflows_schema()
    {
        // read_tfevents.py: TFRecord framing and CRC-32C written from their specifications in Python, and Google's
        // protobuf runtime decoding with event.proto's messages; it refuses fields the schema does not define.
        var dir = Tiny.TempFolder();
        string path;
        using (var w = new EventWriter(dir))
        {
            path = w.FilePath;
            w.AddScalar("epoch/val_accuracy", 0.75, 3);
            w.AddText("config", "base_lr: 1e-5", 0);
            w.AddHParams(new Dictionary<string, object> { ["optimizer"] = "adamw" }, new Dictionary<string, double> { ["hparam/best_val_accuracy"] = 0.9 });
        }
        var script = Path.Combine(AppContext.BaseDirectory, "Training", "read_tfevents.py");
        Assert.True(DebianPython.Run($"\"{script}\" \"{path}\"", out var output) == 0, output);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("brain.Event:2", events[0].GetProperty("file_version").GetString());
        Assert.True(events[0].GetProperty("wall_time").GetDouble() > 1.7e9);
        var values = events.SelectMany(e => e.GetProperty("values").EnumerateArray().Select(v => (Step: e.GetProperty("step").GetInt64(), Value: v))).ToList();
        var accuracy = values.Single(v => v.Value.GetProperty("tag").GetString() == "epoch/val_accuracy");
        Assert.Equal(3, accuracy.Step);
        Assert.Equal(0.75, accuracy.Value.GetProperty("simple_value").GetDouble(), 6);
        var text = values.Single(v => v.Value.GetProperty("tag").GetString() == "config").Value;
        Assert.Equal("text", text.GetProperty("plugin").GetString());
        Assert.Equal("base_lr: 1e-5", text.GetProperty("text")[0].GetString());
        Assert.Equal(3, values.Count(v => v.Value.GetProperty("plugin").GetString() == "hparams"));
        Assert.Equal(0.9, values.Single(v => v.Value.GetProperty("tag").GetString() == "hparam/best_val_accuracy").Value.GetProperty("simple_value").GetDouble(), 6);
    }

    [PythonFact("google.protobuf", "python3-protobuf")]
    public void The_independent_reader_refuses_a_flipped_byte()
    {
        var dir = Tiny.TempFolder();
        string path;
        using (var w = new EventWriter(dir)) { path = w.FilePath; w.AddScalar("a", 1, 1); }
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var script = Path.Combine(AppContext.BaseDirectory, "Training", "read_tfevents.py");
        Assert.NotEqual(0, DebianPython.Run($"\"{script}\" \"{path}\"", out var output));
        Assert.Contains("bad CRC", output);
    }
}
