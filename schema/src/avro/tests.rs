use serde_json::json;

use super::AvroSchema;

const EVENT: &str = r#"{"type":"record","name":"Event","namespace":"io.aklivity.example",
  "fields":[{"name":"id","type":"string"},{"name":"status","type":"string"}]}"#;

fn encode(schema: &AvroSchema, value: serde_json::Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    schema.encode(&value, &mut out).map_err(|v| v.to_string())?;
    Ok(out)
}

#[test]
fn the_zilla_example_event_encodes_to_its_published_bytes() {
    let schema = AvroSchema::parse(EVENT).unwrap();
    // examples/http.kafka.avro.json/event.bin, after its 5-byte frame.
    let bytes = encode(&schema, json!({"id": "123", "status": "OK"})).unwrap();
    assert_eq!(bytes, b"\x06123\x04OK");
    assert_eq!(
        schema.decode(&bytes).unwrap(),
        json!({"id": "123", "status": "OK"})
    );
}

#[test]
fn a_wrong_type_names_the_field() {
    let schema = AvroSchema::parse(EVENT).unwrap();
    let error = encode(&schema, json!({"id": 123, "status": "OK"})).unwrap_err();
    assert_eq!(error, "/id: expected a string, found an integer");
    let error = encode(&schema, json!({"id": "1"})).unwrap_err();
    assert_eq!(error, "missing required field 'status'");
    let error = encode(&schema, json!({"id": "1", "status": "x", "extra": 1})).unwrap_err();
    assert_eq!(error, "/extra: the schema has no such field");
}

#[test]
fn a_cut_payload_is_refused_like_the_zilla_invalid_event() {
    let schema = AvroSchema::parse(EVENT).unwrap();
    // examples/http.kafka.avro.json/invalid_event.bin, after its frame: the status is missing.
    let error = schema.decode(b"\x06123").unwrap_err().to_string();
    assert_eq!(error, "/status: the payload ends in the middle of a number");
    assert!(
        schema
            .decode(b"\x06123\x04OKx")
            .unwrap_err()
            .to_string()
            .contains("1 bytes follow")
    );
}

#[test]
fn every_type_round_trips() {
    let schema = AvroSchema::parse(
        r#"{"type":"record","name":"All","fields":[
        {"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},
        {"name":"l","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},
        {"name":"by","type":"bytes"},{"name":"s","type":"string"},
        {"name":"a","type":{"type":"array","items":"int"}},
        {"name":"m","type":{"type":"map","values":"string"}},
        {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
        {"name":"x","type":{"type":"fixed","name":"Two","size":2}},
        {"name":"o","type":["null","string"]},
        {"name":"u","type":["int","string","Color"]},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"dflt","type":"int","default":7}]}"#,
    )
    .unwrap();
    let value = json!({"n": null, "b": true, "i": -5, "l": 1_i64 << 40, "f": 1.5, "d": -2.25,
        "by": "\u{0}\u{ff}", "s": "héllo", "a": [1, 2, 3], "m": {"k": "v"}, "e": "GREEN",
        "x": "ab", "o": "here", "u": {"Color": "RED"}, "ts": 1_700_000_000_000_i64});
    let bytes = encode(&schema, value.clone()).unwrap();
    let mut expected = value;
    expected["dflt"] = json!(7);
    assert_eq!(schema.decode(&bytes).unwrap(), expected);
    // A plain value takes the first branch that fits; the output names the branch.
    let mut plain = expected.clone();
    plain["u"] = json!("text");
    let decoded = schema.decode(&encode(&schema, plain).unwrap()).unwrap();
    assert_eq!(decoded["u"], json!({"string": "text"}));
}

#[test]
fn recursive_records_and_namespaces_resolve() {
    let schema = AvroSchema::parse(
        r#"{"type":"record","name":"Node","namespace":"a.b","fields":[
        {"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}"#,
    )
    .unwrap();
    let value = json!({"value": 1, "next": {"value": 2, "next": null}});
    let bytes = encode(&schema, value.clone()).unwrap();
    assert_eq!(schema.decode(&bytes).unwrap(), value);
    let error = encode(
        &schema,
        json!({"value": 1, "next": {"value": "x", "next": null}}),
    )
    .unwrap_err();
    assert_eq!(
        error,
        "/next/value: expected an integer of 32 bits, found a string"
    );
}

#[test]
fn bad_schemas_are_refused_with_a_reason() {
    for (text, reason) in [
        ("{", "an avro schema is JSON"),
        (r#"{"type":"record","name":"R"}"#, "needs 'fields'"),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}"#,
            "unknown avro type 'Nope'",
        ),
        (r#"["int","int"]"#, "the same type twice"),
        (
            r#"{"type":"enum","name":"E","symbols":[]}"#,
            "needs 'symbols'",
        ),
    ] {
        let error = AvroSchema::parse(text).unwrap_err().to_string();
        assert!(error.contains(reason), "{text}: {error}");
    }
}

#[test]
fn hostile_lengths_and_counts_are_refused_without_allocating() {
    let schema = AvroSchema::parse(r#"{"type":"array","items":"null"}"#).unwrap();
    // A block of 2^62 nulls in 9 bytes.
    let mut bytes = Vec::new();
    crate::wire::write_zigzag(1 << 62, &mut bytes);
    bytes.push(0);
    assert!(
        schema
            .decode(&bytes)
            .unwrap_err()
            .to_string()
            .contains("more items")
    );
    let strings = AvroSchema::parse(r#""string""#).unwrap();
    let mut bytes = Vec::new();
    crate::wire::write_zigzag(i64::MAX, &mut bytes);
    assert!(strings.decode(&bytes).is_err());
}
