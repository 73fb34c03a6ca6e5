using System.Buffers.Binary;

namespace FineTune.Training.TensorBoard;

/// <summary>Thrown for a TFRecord file that is cut short or fails its checksums.</summary>
public sealed class CorruptRecordException(string message) : Exception(message);

/// <summary>TFRecord framing: u64 length, masked CRC32C of the length, payload, masked CRC32C of the payload (all little-endian).</summary>
public static class TfRecord
{
    public static void Write(Stream stream, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        stream.Write(header);
        stream.Write(payload);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(payload));
        stream.Write(footer);
    }

    /// <summary>Every record's payload, checking both CRCs of each.</summary>
    public static IEnumerable<byte[]> ReadAll(Stream stream)
    {
        var header = new byte[12];
        var footer = new byte[4];
        while (true)
        {
            int got = stream.ReadAtLeast(header, 12, throwOnEndOfStream: false);
            if (got == 0) yield break;
            if (got < 12) throw new CorruptRecordException("record header cut short");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8)) != Crc32C.Masked(header.AsSpan(0, 8)))
                throw new CorruptRecordException("length CRC mismatch");
            if (length > int.MaxValue) throw new CorruptRecordException($"record length {length} is implausible");
            var payload = new byte[length];
            if (stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false) < payload.Length || stream.ReadAtLeast(footer, 4, throwOnEndOfStream: false) < 4)
                throw new CorruptRecordException("record cut short");
            if (BinaryPrimitives.ReadUInt32LittleEndian(footer) != Crc32C.Masked(payload))
                throw new CorruptRecordException("payload CRC mismatch");
            yield return payload;
        }
    }
}
