using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FineTune.Weights.Bundled;

/// <summary>
/// Float32 tensors in the safetensors layout (8-byte header length, JSON header, raw little-endian data), so a
/// converted cache can be opened by any safetensors reader. The header's __metadata__ carries the SHA-256 of the
/// data: a truncated or damaged file is detected on read (InvalidDataException) instead of loading garbage.
/// </summary>
public static class Float32Safetensors
{
    const string PayloadHashKey = "payload_sha256";

    /// <summary>Writes atomically: a temporary file beside <paramref name="path"/>, flushed, then renamed over it.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, HostTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in names) hash.AppendData(Bytes(tensors[name]));

        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in metadata) json.WriteString(key, value);
            json.WriteString(PayloadHashKey, Convert.ToHexStringLower(hash.GetHashAndReset()));
            json.WriteEndObject();
            long offset = 0;
            foreach (var name in names)
            {
                var tensor = tensors[name];
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset += tensor.Values.Length * sizeof(float));
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        while (header.Length % 8 != 0) header.WriteByte((byte)' '); // the format pads the header with spaces

        FineTune.IO.AtomicWrite.With(path, file =>
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            file.Write(length);
            header.Position = 0;
            header.CopyTo(file);
            foreach (var name in names) file.Write(Bytes(tensors[name]));
        });
    }

    /// <summary>Reads every tensor and the metadata; InvalidDataException when the file is not intact.</summary>
    public static (Dictionary<string, HostTensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw Damaged(path, "shorter than its header");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8)) throw Damaged(path, "its header runs past the end");
        var payload = bytes.AsSpan(8 + (int)headerLength);

        var tensors = new Dictionary<string, HostTensor>();
        var metadata = new Dictionary<string, string>();
        try
        {
            using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    foreach (var m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                if (entry.Value.GetProperty("dtype").GetString() != "F32") throw Damaged(path, $"tensor {entry.Name} is not F32");
                var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                long count = shape.Aggregate(1L, (a, d) => a * d);
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > payload.Length || offsets[1] - offsets[0] != count * sizeof(float))
                    throw Damaged(path, $"tensor {entry.Name} does not fit the data");
                var values = MemoryMarshal.Cast<byte, float>(payload[(int)offsets[0]..(int)offsets[1]]).ToArray();
                tensors[entry.Name] = new HostTensor(shape, values);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw Damaged(path, $"its header is unreadable ({e.Message})");
        }

        if (!metadata.TryGetValue(PayloadHashKey, out var expected)) throw Damaged(path, "it records no checksum");
        if (Convert.ToHexStringLower(SHA256.HashData(payload)) != expected) throw Damaged(path, "its data does not match its checksum");
        return (tensors, metadata);
    }

    static ReadOnlySpan<byte> Bytes(HostTensor tensor) => MemoryMarshal.AsBytes(tensor.Values.AsSpan());

    static InvalidDataException Damaged(string path, string why) => new($"{path} is damaged: {why}.");
}
