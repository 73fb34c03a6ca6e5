using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace FineTune.Weights;

/// <summary>
/// Reads a state dict (name → tensor) from a .pth written by torch.save (zip format) or a .safetensors file.
/// The format is taken from the bytes, not the extension. Every pickle in a .pth passes <see cref="PickleGuard"/>
/// before TorchSharp.PyBridge parses it, and a safetensors header is validated before any tensor is read.
/// </summary>
public static class StateDictFile
{
    // data.pkl of a ResNet-50 state dict is 39 kB (ResNet-152 about 2.5x that); anything near this limit is not a state dict.
    const long MaxPickleBytes = 64L << 20;
    const long MaxSafetensorsHeaderBytes = 100L << 20;

    enum Format { TorchZip, LegacyTorch, Safetensors }

    /// <summary>All tensors, on the CPU. The caller owns and disposes them.</summary>
    public static Dictionary<string, Tensor> Read(string path) => Open(path, (s, f) => f switch
    {
        Format.TorchZip => ReadPth(s, path),
        _ => ReadSafetensors(s, path),
    });

    /// <summary>Names and shapes only, without reading tensor data: enough to tell the architecture and class count.</summary>
    public static Dictionary<string, long[]> ReadShapes(string path) => Open(path, (s, f) => f switch
    {
        Format.TorchZip => PthShapes(s, path),
        _ => SafetensorsHeader(s, path).ToDictionary(kv => kv.Key, kv => kv.Value.Shape),
    });

    static T Open<T>(string path, Func<FileStream, Format, T> read)
    {
        // One handle for check and load, so the bytes checked are the bytes parsed.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var format = Detect(stream, path);
        if (format == Format.LegacyTorch)
            throw new WeightsFormatException(
                $"{path} was saved in PyTorch's legacy (pre-1.6, non-zip) format, which is not supported: re-save it with a current PyTorch, " +
                "torch.save(torch.load(path), new_path), or convert it to .safetensors.");
        return read(stream, format);
    }

    static Format Detect(FileStream stream, string path)
    {
        Span<byte> head = stackalloc byte[9];
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return Format.TorchZip;
        // A bare pickle (PROTO opcode first) is what torch.save wrote before the zip format.
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return Format.LegacyTorch;
        // A length prefix then a JSON object: the length itself is checked by SafetensorsHeader, which names it.
        if (n == 9 && head[8] == (byte)'{') return Format.Safetensors;
        throw new WeightsFormatException($"{path} is neither a PyTorch .pth (zip, from torch.save) nor a .safetensors file.");
    }

    // ---- .pth (torch.save zip) ----

    static Dictionary<string, Tensor> ReadPth(FileStream stream, string path)
    {
        CheckPickles(stream, path);
        PickleStorages.Check(Unpickle(stream, path, skipTensorRead: true), stream, path);
        var table = Unpickle(stream, path, skipTensorRead: false);
        return ToStateDict(table, path);
    }

    static Dictionary<string, long[]> PthShapes(FileStream stream, string path)
    {
        CheckPickles(stream, path);
        // PyBridge's skipTensorRead leaves each tensor as a description whose Shape is known but whose bytes are unread.
        // That type is internal to PyBridge, so its Shape is read by name, and a full read is the fallback.
        var table = Unpickle(stream, path, skipTensorRead: true);
        PickleStorages.Check(table, stream, path);
        var shapes = new Dictionary<string, long[]>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value?.GetType().GetProperty("Shape")?.GetValue(entry.Value) is long[] shape)
                shapes[name] = shape;
            else
                return FullReadShapes(stream, path);
        }
        return shapes;
    }

    static Dictionary<string, long[]> FullReadShapes(FileStream stream, string path)
    {
        var tensors = ToStateDict(Unpickle(stream, path, skipTensorRead: false), path);
        try { return tensors.ToDictionary(kv => kv.Key, kv => kv.Value.shape); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    static void CheckPickles(FileStream stream, string path)
    {
        stream.Position = 0;
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            // PyBridge loads the first entry whose name ends in data.pkl; check every pickle, so none slips past.
            var pickles = zip.Entries.Where(e => e.Name.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase)).ToList();
            if (!pickles.Any(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal)))
                throw new WeightsFormatException($"{path} is a zip archive without data.pkl: not a file written by torch.save.");
            foreach (var entry in pickles)
            {
                if (entry.Length > MaxPickleBytes)
                    throw new UnsafePickleException($"Refused {path}: its pickle {entry.FullName} is {entry.Length} bytes, far more than a state dict needs.");
                using var body = entry.Open();
                var bytes = new byte[entry.Length];
                body.ReadExactly(bytes);
                PickleGuard.Check(bytes, $"{path} ({entry.FullName})");
            }
            var byteOrder = zip.Entries.FirstOrDefault(e => e.Name == "byteorder");
            if (byteOrder is not null)
            {
                using var reader = new StreamReader(byteOrder.Open(), Encoding.ASCII);
                if (reader.ReadToEnd().Trim() == "big")
                    throw new WeightsFormatException($"{path} was saved on a big-endian machine; re-save it on a little-endian one or as .safetensors.");
            }
        }
        catch (InvalidDataException e)
        {
            throw new WeightsFormatException($"{path} is not a readable zip archive ({e.Message}); it may be a truncated download: fetch it again.");
        }
        catch (EndOfStreamException)
        {
            throw new WeightsFormatException($"{path} is cut short; it may be a truncated download: fetch it again.");
        }
    }

    static Hashtable Unpickle(FileStream stream, string path, bool skipTensorRead)
    {
        stream.Position = 0;
        try
        {
            return PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true, skipTensorRead: skipTensorRead);
        }
        catch (Exception e) when (e is not WeightsFormatException and not UnsafePickleException and not OutOfMemoryException)
        {
            throw new WeightsFormatException($"{path} could not be read as a PyTorch state dict ({e.GetType().Name}: {e.Message}); save it with torch.save(model.state_dict(), path).");
        }
    }

    /// <summary>Keeps a flat name → tensor map; a checkpoint that wraps it under "state_dict" or "model" is unwrapped.</summary>
    static Dictionary<string, Tensor> ToStateDict(Hashtable table, string path)
    {
        if (!table.Values.OfType<Tensor>().Any())
            foreach (var wrapper in new[] { "state_dict", "model" })
                if (table[wrapper] is Hashtable inner && inner.Values.OfType<Tensor>().Any())
                {
                    DisposeTensors(table, except: inner);
                    return ToStateDict(inner, path);
                }

        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value is Tensor tensor)
            {
                result[name] = tensor;
                continue;
            }
            DisposeTensors(table, except: null);
            throw new WeightsFormatException(
                $"{path} holds '{entry.Key}' = {entry.Value?.GetType().Name ?? "None"}, which is not a named tensor: save only model.state_dict().");
        }
        return result;
    }

    static void DisposeTensors(Hashtable table, Hashtable? except)
    {
        foreach (var value in table.Values)
        {
            if (value is Tensor t) t.Dispose();
            else if (value is Hashtable inner && !ReferenceEquals(inner, except)) DisposeTensors(inner, null);
        }
    }

    // ---- .safetensors ----

    sealed record SafetensorsEntry(long[] Shape, long Begin, long End);

    static readonly Dictionary<string, int> SafetensorsElementSizes = new()
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
    };

    /// <summary>Parses and checks the header: known dtypes, and every tensor's bytes inside the file and of the size its shape says.</summary>
    static Dictionary<string, SafetensorsEntry> SafetensorsHeader(FileStream stream, string path)
    {
        stream.Position = 0;
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(stream.Length - 8))
            throw new WeightsFormatException($"{path}: its safetensors header length {headerLength:N0} is larger than the file ({stream.Length:N0} bytes); the file is damaged or cut short: fetch it again.");
        if (headerLength > (ulong)MaxSafetensorsHeaderBytes)
            throw new WeightsFormatException($"{path}: its safetensors header is {headerLength:N0} bytes, more than the {MaxSafetensorsHeaderBytes:N0} a state dict's header needs; the file is damaged.");
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        long dataLength = stream.Length - 8 - (long)headerLength;

        WeightsFormatException Bad(string what) => new($"{path} is not a valid safetensors file: {what}.");
        var entries = new Dictionary<string, SafetensorsEntry>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                var v = property.Value;
                var dtype = v.GetProperty("dtype").GetString() ?? "";
                if (!SafetensorsElementSizes.TryGetValue(dtype, out int size))
                    throw Bad($"tensor {property.Name} has dtype '{dtype}', which is not supported");
                var shape = v.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var offsets = v.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (shape.Any(d => d < 0) || offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw Bad($"tensor {property.Name} has a bad shape or lies outside the file");
                // Checked: a shape like [2^62 + 1] of F32 would otherwise wrap to 4 bytes and pass.
                long bytes = checked(shape.Aggregate(1L, (a, d) => checked(a * d)) * size);
                if (offsets[1] - offsets[0] != bytes)
                    throw Bad($"tensor {property.Name} has {offsets[1] - offsets[0]} bytes, but shape [{string.Join(", ", shape)}] of {dtype} needs {bytes}");
                entries[property.Name] = new SafetensorsEntry(shape, offsets[0], offsets[1]);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw Bad(e is OverflowException ? $"a tensor's shape or offsets overflow 64-bit sizes ({e.Message})" : $"its JSON header cannot be read ({e.Message})");
        }
        return entries;
    }

    static Dictionary<string, Tensor> ReadSafetensors(FileStream stream, string path)
    {
        SafetensorsHeader(stream, path);
        stream.Position = 0;
        try
        {
            return Safetensors.LoadStateDict(stream, leaveOpen: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new WeightsFormatException($"{path} could not be read as safetensors ({e.GetType().Name}: {e.Message}).");
        }
    }
}
