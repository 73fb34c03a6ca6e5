using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTune.Models;
using FineTune.Native;
using TorchSharp.Modules;

using FineTune.IO;

namespace FineTune.Training.Checkpoints;

/// <summary>A checkpoint that cannot be used as asked: unreadable, or for another backbone or class count.</summary>
public sealed class CheckpointException(string message) : FineTuneException(message);

/// <summary>
/// Reads and writes checkpoints (a zip of checkpoint.json, model.bin, optimizer.bin), atomically.
/// Tensors use TorchSharp's own format, which round-trips bit for bit; PyTorch users get a .pth export.
/// </summary>
public sealed class CheckpointFile
{
    const string InfoEntry = "checkpoint.json", ModelEntry = "model.bin", OptimizerEntry = "optimizer.bin";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string Path { get; }
    public CheckpointInfo Info { get; }
    readonly byte[] _model;
    readonly byte[]? _optimizer;

    CheckpointFile(string path, CheckpointInfo info, byte[] model, byte[]? optimizer)
    {
        Path = path; Info = info; _model = model; _optimizer = optimizer;
    }

    public static void Save(string path, CheckpointInfo info, ResNet model, OptimizerHelper? optimizer)
    {
        AtomicWrite.With(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            using (var s = zip.CreateEntry(InfoEntry).Open()) JsonSerializer.Serialize(s, info with { SavedAt = DateTimeOffset.UtcNow }, Json);
            using (var s = zip.CreateEntry(ModelEntry, CompressionLevel.NoCompression).Open())
            using (var w = new BinaryWriter(s)) model.save(w);
            if (optimizer is not null)
            {
                using var s = zip.CreateEntry(OptimizerEntry, CompressionLevel.NoCompression).Open();
                using var w = new BinaryWriter(s);
                optimizer.save_state_dict(w);
            }
        });
    }

    public static CheckpointFile Load(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException($"Checkpoint '{path}' not found: pass the path of a .ckpt file written by `finetune train` (under experiment.checkpoint_dir/<name>/).");
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var infoEntry = zip.GetEntry(InfoEntry) ?? throw new InvalidDataException("no checkpoint.json");
            CheckpointInfo info;
            using (var s = infoEntry.Open()) info = JsonSerializer.Deserialize<CheckpointInfo>(s, Json) ?? throw new InvalidDataException("empty checkpoint.json");
            if (info.Format > CheckpointInfo.CurrentFormat)
                throw new CheckpointException($"Checkpoint '{path}' has format {info.Format}, newer than this program reads ({CheckpointInfo.CurrentFormat}): update finetune.");
            var model = ReadAll(zip.GetEntry(ModelEntry) ?? throw new InvalidDataException("no model.bin"));
            var optimizer = zip.GetEntry(OptimizerEntry) is { } o ? ReadAll(o) : null;
            return new CheckpointFile(path, info, model, optimizer);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or IOException and not FileNotFoundException)
        {
            throw new CheckpointException($"'{path}' is not a readable finetune checkpoint ({e.Message}): pass a .ckpt written by `finetune train`.");
        }
    }

    static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Fails with a clear message when this checkpoint is not for <paramref name="backbone"/> with <paramref name="numClasses"/> classes.</summary>
    public void EnsureMatches(string backbone, int numClasses, string what)
    {
        if (!string.Equals(Info.Backbone, backbone, StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException($"Checkpoint '{Path}' holds a {Info.Backbone}, but {what} asks for {backbone}: use a checkpoint of a {backbone} run or set model.backbone: {Info.Backbone}.");
        if (Info.NumClasses != numClasses)
            throw new CheckpointException($"Checkpoint '{Path}' has {Info.NumClasses} classes, but {what} asks for {numClasses}: use a checkpoint trained on this dataset or set model.num_classes: {Info.NumClasses}.");
    }

    /// <summary>A fresh model with this checkpoint's architecture and weights, its kernels run by <paramref name="routing"/>.</summary>
    public ResNet CreateModel(KernelRouting? routing = null)
    {
        TorchNative.EnsureLoaded();
        var model = new ResNet(Info.Architecture, Info.NumClasses, routing);
        LoadModelInto(model);
        return model;
    }

    public void LoadModelInto(ResNet model)
    {
        if (model.Architecture.Block != Info.Block || !model.Architecture.Layers.SequenceEqual(Info.Layers) || model.NumClasses != Info.NumClasses)
            throw new CheckpointException($"Checkpoint '{Path}' holds a {Info.Backbone} ({Info.Architecture}, {Info.NumClasses} classes), which does not fit a {model.Architecture} model with {model.NumClasses} classes.");
        // An fp64 (verification) run saves float64 weights, every other run float32: load in the checkpoint's dtype, then
        // return to the model's (TorchSharp's load refuses a dtype that differs).
        var modelDtype = model.Precision;
        var saved = SavedPrecision();
        if (saved != modelDtype) model.Precision = saved;
        using var reader = new BinaryReader(new MemoryStream(_model));
        model.load(reader, strict: true);
        if (saved != modelDtype) model.Precision = modelDtype;
    }

    /// <summary>
    /// Fp64 when the weights were saved in float64 (an fp64 run), else Fp32, read off model.bin's first entry: TorchSharp's
    /// state-dict format is a LEB128 entry count, then per entry its name and the tensor, whose dtype code comes first.
    /// </summary>
    ComputePrecision SavedPrecision()
    {
        using var reader = new BinaryReader(new MemoryStream(_model));
        if (Leb128(reader) == 0) return ComputePrecision.Fp32;
        reader.ReadString();
        return (TorchSharp.torch.ScalarType)Leb128(reader) == TorchSharp.torch.ScalarType.Float64 ? ComputePrecision.Fp64 : ComputePrecision.Fp32;
    }

    /// <summary>An unsigned LEB128 number, as TorchSharp writes counts and dtype codes (its own codec is internal).</summary>
    static long Leb128(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException("model.bin: a malformed LEB128 number");
    }

    public void LoadOptimizerInto(OptimizerHelper optimizer)
    {
        if (_optimizer is null) throw new CheckpointException($"Checkpoint '{Path}' has no optimizer state, so training cannot resume from it.");
        using var reader = new BinaryReader(new MemoryStream(_optimizer));
        try { optimizer.load_state_dict(reader); }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new CheckpointException($"Checkpoint '{Path}' was trained with optimizer {Info.Optimizer}; resume with the same training.optimizer ({e.Message}).");
        }
    }
}
