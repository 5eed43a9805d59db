/**
 * The part of Perfetto's trace format that `hvtrace export --format perfetto` writes, as a
 * .proto of our own: only the messages and fields used, with the field numbers of Perfetto's
 * published schema (protos/perfetto/trace/trace.proto, trace_packet.proto,
 * track_event/track_descriptor.proto, process_descriptor.proto, thread_descriptor.proto,
 * track_event.proto, debug_annotation.proto). Parsed by protobufjs at run time.
 */
export const PERFETTO_PROTO = `
syntax = "proto2";
package hvtrace.perfetto;

message Trace {
  repeated TracePacket packet = 1;
}

message TracePacket {
  optional uint64 timestamp = 8;
  optional uint32 trusted_packet_sequence_id = 10;
  optional TrackEvent track_event = 11;
  // 1 = SEQ_INCREMENTAL_STATE_CLEARED (on the first packet of the sequence)
  optional uint32 sequence_flags = 13;
  optional TrackDescriptor track_descriptor = 60;
}

message TrackDescriptor {
  optional uint64 uuid = 1;
  optional string name = 2;
  optional ProcessDescriptor process = 3;
  optional ThreadDescriptor thread = 4;
  optional uint64 parent_uuid = 5;
}

message ProcessDescriptor {
  optional int32 pid = 1;
  optional string process_name = 6;
}

message ThreadDescriptor {
  optional int32 pid = 1;
  optional int32 tid = 2;
  optional string thread_name = 5;
}

message TrackEvent {
  enum Type {
    TYPE_UNSPECIFIED = 0;
    TYPE_SLICE_BEGIN = 1;
    TYPE_SLICE_END = 2;
    TYPE_INSTANT = 3;
    TYPE_COUNTER = 4;
  }
  repeated DebugAnnotation debug_annotations = 4;
  optional Type type = 9;
  optional uint64 track_uuid = 11;
  repeated string categories = 22;
  optional string name = 23;
}

message DebugAnnotation {
  optional bool bool_value = 2;
  optional uint64 uint_value = 3;
  optional int64 int_value = 4;
  optional string string_value = 6;
  optional string name = 10;
}
`;
