using System.Buffers.Binary;
using System.Text;
using FineTune.Training.TensorBoard;
using Google.Protobuf;

namespace FineTune.Tests.Training.TensorBoard;

/// <summary>Thrown for a TFRecord file that is cut short or fails its checksums.</summary>
public sealed class CorruptRecordException(string message) : Exception(message);

/// <summary>One summary value as read back: its tag, a scalar if it is one, its plugin, and text if any.</summary>
public sealed record SummaryValue(string Tag, float? Scalar, string? Plugin, string? Text);

/// <summary>One Event of an event file.</summary>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<SummaryValue> Values);

/// <summary>Reads event files back (CRCs checked): the tests' view of what TensorBoard would read. Test-only, so it lives here, not in the engine.</summary>
public static class EventReader
{
    public static List<TensorBoardEvent> Read(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadRecords(stream).Select(ParseEvent).ToList();
    }

    /// <summary>All scalars of every event file under <paramref name="logDir"/>: tag → (step, value) in file order.</summary>
    public static Dictionary<string, List<(long Step, float Value)>> Scalars(string logDir)
    {
        var result = new Dictionary<string, List<(long, float)>>();
        foreach (var file in Directory.GetFiles(logDir, "events.out.tfevents.*").Order())
            foreach (var ev in Read(file))
                foreach (var v in ev.Values.Where(v => v.Scalar is not null))
                {
                    if (!result.TryGetValue(v.Tag, out var list)) result[v.Tag] = list = [];
                    list.Add((ev.Step, v.Scalar!.Value));
                }
        return result;
    }

    static TensorBoardEvent ParseEvent(byte[] payload)
    {
        var input = new CodedInputStream(payload);
        double wall = 0; long step = 0; string? version = null;
        var values = new List<SummaryValue>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5: values.AddRange(ParseSummary(input.ReadBytes())); break;
                default: input.SkipLastField(); break;
            }
        }
        return new TensorBoardEvent(wall, step, version, values);
    }

    static IEnumerable<SummaryValue> ParseSummary(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1) yield return ParseValue(input.ReadBytes());
            else input.SkipLastField();
        }
    }

    static SummaryValue ParseValue(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        string name = ""; float? scalar = null; string? plugin = null, text = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2: scalar = input.ReadFloat(); break;
                case 8: text = TensorText(input.ReadBytes()); break;
                case 9: plugin = PluginName(input.ReadBytes()); break;
                default: input.SkipLastField(); break;
            }
        }
        return new SummaryValue(name, scalar, plugin, text);
    }

    static string? PluginName(ByteString metadata)
    {
        var input = metadata.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 1) { input.SkipLastField(); continue; }
            var plugin = input.ReadBytes().CreateCodedInput();
            uint t;
            while ((t = plugin.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(t) == 1) return plugin.ReadString();
                plugin.SkipLastField();
            }
        }
        return null;
    }

    static string? TensorText(ByteString tensor)
    {
        var input = tensor.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 8) return Encoding.UTF8.GetString(input.ReadBytes().Span);
            input.SkipLastField();
        }
        return null;
    }

    /// <summary>Every TFRecord payload (u64 length, masked CRC32C of it, payload, masked CRC32C of that), checking both CRCs of each.</summary>
    static IEnumerable<byte[]> ReadRecords(Stream stream)
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
