using Google.Protobuf;

namespace FineTune.Training.TensorBoard;

/// <summary>
/// Builds one protobuf message field by field with Google.Protobuf's CodedOutputStream. TensorBoard's few
/// messages (Event, Summary, plugin data) are written by hand instead of generated from .proto files.
/// </summary>
sealed class ProtoMessage
{
    readonly MemoryStream _buffer = new();
    readonly CodedOutputStream _out;

    public ProtoMessage() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

    public ProtoMessage Double(int field, double value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed64); _out.WriteDouble(value); return this;
    }

    public ProtoMessage Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32); _out.WriteFloat(value); return this;
    }

    public ProtoMessage Int64(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint); _out.WriteInt64(value); return this;
    }

    public ProtoMessage Int32(int field, int value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint); _out.WriteInt32(value); return this;
    }

    public ProtoMessage String(int field, string value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited); _out.WriteString(value); return this;
    }

    public ProtoMessage Bytes(int field, byte[] value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited); _out.WriteBytes(ByteString.CopyFrom(value)); return this;
    }

    public ProtoMessage Message(int field, ProtoMessage message) => Bytes(field, message.ToArray());

    public byte[] ToArray()
    {
        _out.Flush();
        return _buffer.ToArray();
    }
}
