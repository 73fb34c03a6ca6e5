using System.Buffers.Binary;

namespace FineTune.Training.TensorBoard;

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
}
