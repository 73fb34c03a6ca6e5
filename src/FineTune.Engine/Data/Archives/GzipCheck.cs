using System.Buffers.Binary;
using System.IO.Compression;

namespace FineTune.Data.Archives;

/// <summary>
/// .NET's GZipStream stops quietly at the end of a truncated file, and a tar cut at an entry boundary reads as a
/// shorter archive. So the tar is read through a counter and the total is compared with the gzip trailer's
/// ISIZE (length mod 2^32): a truncated download no longer passes as a complete dataset.
/// </summary>
static class GzipCheck
{
    public static int ExtractTarGz(string archive, string target)
    {
        using var file = File.OpenRead(archive);
        if (file.Length < 18) throw SafeExtractor.Damaged(archive, new InvalidDataException("file too short for gzip"));
        Span<byte> trailer = stackalloc byte[4];
        file.Seek(-4, SeekOrigin.End);
        file.ReadExactly(trailer);
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        file.Seek(0, SeekOrigin.Begin);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var counted = new CountingStream(gzip);
        int files;
        try
        {
            files = SafeExtractor.ExtractTar(counted, target, archive);
            counted.CopyTo(Stream.Null); // the tar's zero padding after its end marker
        }
        catch (InvalidDataException e) { throw SafeExtractor.Damaged(archive, e); }
        if ((uint)counted.Count != expected)
            throw SafeExtractor.Damaged(archive, new InvalidDataException($"decompressed {counted.Count:N0} bytes, the gzip trailer says {expected:N0} (mod 2^32): the file is cut short"));
        return files;
    }

    sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override int Read(byte[] buffer, int offset, int count) { int n = inner.Read(buffer, offset, count); Count += n; return n; }
        public override int Read(Span<byte> buffer) { int n = inner.Read(buffer); Count += n; return n; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
