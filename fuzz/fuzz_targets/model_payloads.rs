//! Model codecs on hostile payloads: Avro, Protobuf and JSON Schema checks never panic, never
//! allocate past the payload, and what Avro and Protobuf read converts back to the same value.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_schema::avro::AvroSchema;
use sluice_schema::{JsonCodec, ProtobufCodec, wire};

const AVRO: &str = r#"{"type": "record", "name": "Node", "fields": [
  {"name": "id", "type": "string"}, {"name": "n", "type": ["null", "long"]},
  {"name": "f", "type": "double"}, {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": "int"}},
  {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
  {"name": "raw", "type": {"type": "fixed", "name": "Two", "size": 2}},
  {"name": "u", "type": ["int", "string", "Kind"]},
  {"name": "next", "type": ["null", "Node"]}]}"#;

const PROTO: &str = "syntax = \"proto3\";\nmessage Outer {\n  message Inner { string s = 1; repeated int64 v = 2; }\n  \
    string name = 1;\n  int32 count = 2;\n  repeated Inner items = 3;\n  map<string, double> m = 4;\n  bytes b = 5;\n  \
    oneof pick { string a = 6; bool c = 7; }\n}\n";

const JSON: &str = r#"{"type": "object", "properties": {"id": {"type": "integer"},
  "s": {"type": "string", "pattern": "^[a-z]+$"}}, "required": ["id"], "additionalProperties": false}"#;

fn codecs() -> &'static (AvroSchema, ProtobufCodec, JsonCodec) {
    static CODECS: OnceLock<(AvroSchema, ProtobufCodec, JsonCodec)> = OnceLock::new();
    CODECS.get_or_init(|| {
        (
            AvroSchema::parse(AVRO).expect("avro schema"),
            ProtobufCodec::compile(PROTO, "Outer").expect("proto schema"),
            JsonCodec::compile(JSON).expect("json schema"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (avro, proto, json) = codecs();
    if let Ok(value) = avro.decode(data) {
        let mut again = Vec::new();
        avro.encode(&value, &mut again).expect("a decoded value encodes");
        assert_eq!(avro.decode(&again).expect("re-encoded bytes decode"), value);
    }
    if let Ok(text) = proto.to_json(data) {
        let mut bytes = Vec::new();
        proto.from_json(&text, &mut bytes).expect("its own JSON reads back");
        // Compared as values: map entries come out in no fixed order.
        let first: serde_json::Value = serde_json::from_slice(&text).expect("JSON");
        let again = proto.to_json(&bytes).expect("re-encoded message reads");
        let second: serde_json::Value = serde_json::from_slice(&again).expect("JSON");
        assert_eq!(first, second);
    }
    let _ = json.check(data);
    if let Ok((_, rest)) = wire::unframe(data, wire::IdWidth::Four) {
        let _ = wire::read_indexes(rest);
    }
});
