"""An event-file reader that shares nothing with FineTune's: TFRecord framing and CRC-32C written here from
their specifications, and Google's protobuf runtime (Debian's python3-protobuf) decoding the records with the
messages of tensorflow/core/util/event.proto and tensorflow/core/framework/{summary,tensor,tensor_shape}.proto.
Prints one JSON object per event; exits 1 on a bad CRC or a field the schema does not know.
Usage: /usr/bin/python3 read_tfevents.py EVENTS_FILE"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# CRC-32C (Castagnoli): reflected polynomial 0x82F63B78; TFRecord stores it masked.
TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)


def masked_crc(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


F = descriptor_pb2.FieldDescriptorProto
file = descriptor_pb2.FileDescriptorProto(name="events.proto", package="tensorflow", syntax="proto3")


def message(name, *fields, oneof=None):
    """oneof: (its name, the names of its fields), as the .proto declares them."""
    m = file.message_type.add(name=name)
    if oneof:
        m.oneof_decl.add(name=oneof[0])
    for fname, number, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = ".tensorflow." + type_name
        if oneof and fname in oneof[1]:
            f.oneof_index = 0


ONE, MANY = F.LABEL_OPTIONAL, F.LABEL_REPEATED
message("Dim", ("size", 1, F.TYPE_INT64, ONE, None), ("name", 2, F.TYPE_STRING, ONE, None))
message("TensorShapeProto", ("dim", 2, F.TYPE_MESSAGE, MANY, "Dim"), ("unknown_rank", 3, F.TYPE_BOOL, ONE, None))
message("TensorProto", ("dtype", 1, F.TYPE_INT32, ONE, None), ("tensor_shape", 2, F.TYPE_MESSAGE, ONE, "TensorShapeProto"),
        ("version_number", 3, F.TYPE_INT32, ONE, None), ("tensor_content", 4, F.TYPE_BYTES, ONE, None),
        ("float_val", 5, F.TYPE_FLOAT, MANY, None), ("double_val", 6, F.TYPE_DOUBLE, MANY, None),
        ("int_val", 7, F.TYPE_INT32, MANY, None), ("string_val", 8, F.TYPE_BYTES, MANY, None))
message("PluginData", ("plugin_name", 1, F.TYPE_STRING, ONE, None), ("content", 2, F.TYPE_BYTES, ONE, None))
message("SummaryMetadata", ("plugin_data", 1, F.TYPE_MESSAGE, ONE, "PluginData"), ("display_name", 2, F.TYPE_STRING, ONE, None),
        ("summary_description", 3, F.TYPE_STRING, ONE, None), ("data_class", 4, F.TYPE_INT32, ONE, None))
message("Value", ("node_name", 7, F.TYPE_STRING, ONE, None), ("tag", 1, F.TYPE_STRING, ONE, None),
        ("metadata", 9, F.TYPE_MESSAGE, ONE, "SummaryMetadata"), ("simple_value", 2, F.TYPE_FLOAT, ONE, None),
        ("tensor", 8, F.TYPE_MESSAGE, ONE, "TensorProto"), oneof=("value", ("simple_value", "tensor")))
message("Summary", ("value", 1, F.TYPE_MESSAGE, MANY, "Value"))
message("Event", ("wall_time", 1, F.TYPE_DOUBLE, ONE, None), ("step", 2, F.TYPE_INT64, ONE, None),
        ("file_version", 3, F.TYPE_STRING, ONE, None), ("summary", 5, F.TYPE_MESSAGE, ONE, "Summary"),
        oneof=("what", ("file_version", "summary")))
pool = descriptor_pool.DescriptorPool()
pool.Add(file)
Event = message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("tensorflow.Event"))

data = open(sys.argv[1], "rb").read()
pos = 0
while pos < len(data):
    header = data[pos:pos + 8]
    (length,) = struct.unpack("<Q", header)
    (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
    record = data[pos + 12:pos + 12 + length]
    (record_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
    if masked_crc(header) != header_crc or masked_crc(record) != record_crc or len(record) != length:
        sys.exit(f"bad CRC or length in the record at byte {pos}")
    pos += 16 + length
    event = Event()
    event.ParseFromString(record)
    known = Event()
    known.CopyFrom(event)
    known.DiscardUnknownFields()
    # Unknown fields survive a parse and a re-serialisation; discarding them must change nothing.
    if known.SerializeToString() != event.SerializeToString():
        sys.exit(f"the record at byte {pos - 16 - length} has fields event.proto does not define")
    values = [{"tag": v.tag, "simple_value": v.simple_value if v.HasField("simple_value") else None,
               "plugin": v.metadata.plugin_data.plugin_name,
               "text": [s.decode() for s in v.tensor.string_val]} for v in event.summary.value]
    print(json.dumps({"wall_time": event.wall_time, "step": event.step, "file_version": event.file_version, "values": values}))
