use super::ProtobufCodec;

/// The schema of Zilla's http.kafka.proto.* examples.
const REQUEST: &str =
    "syntax = \"proto3\";\nmessage Request {\n  string message = 1;\n  int32 count = 2;\n}\n";

/// protoc --encode=Request of "message:'Hello, world',count:10" (the example's encoded_input.bin).
const ENCODED: &[u8] = b"\x0a\x0cHello, world\x10\x0a";

#[test]
fn the_example_message_is_accepted_and_converts_to_json() {
    let codec = ProtobufCodec::compile(REQUEST, "Request").unwrap();
    codec.check(ENCODED).unwrap();
    let json = codec.to_json(ENCODED).unwrap();
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"message":"Hello, world","count":10}"#
    );
    let mut out = Vec::new();
    codec
        .from_json(br#"{"message": "Hello, world", "count": 10}"#, &mut out)
        .unwrap();
    assert_eq!(out, ENCODED);
    assert_eq!(codec.indexes(), [0]);
}

#[test]
fn messages_from_the_examples_wrong_schemas_are_refused() {
    let codec = ProtobufCodec::compile(REQUEST, "Request").unwrap();
    // request_bad_type.proto: count is a string (field 2 with wire type LEN).
    let error = codec
        .check(b"\x0a\x0ehello bad type\x12\x03ten")
        .unwrap_err();
    assert!(
        error.rule.starts_with("not a valid Request message"),
        "{error}"
    );
    // request_extra_field.proto: a field 3 the schema does not know.
    let error = codec.check(b"\x0a\x01x\x10\x0a\x1a\x05field").unwrap_err();
    assert_eq!(error.rule, "field number 3 is not in the schema of Request");
    // request_wrong_order.proto: field 1 is a varint where a string is expected.
    let error = codec.check(b"\x08\x0a\x12\x0bwrong order").unwrap_err();
    assert!(
        error.rule.starts_with("not a valid Request message"),
        "{error}"
    );
}

#[test]
fn json_errors_name_the_field() {
    let codec = ProtobufCodec::compile(REQUEST, "Request").unwrap();
    let mut out = Vec::new();
    let error = codec
        .from_json(
            br#"{"message": "hello world", "count": 10, "invalid": "field"}"#,
            &mut out,
        )
        .unwrap_err();
    assert!(
        error.rule.contains("unrecognized field name 'invalid'"),
        "{error}"
    );
    let error = codec
        .from_json(br#"{"message": "x", "count": "ten"}"#, &mut out)
        .unwrap_err();
    assert_eq!(error.pointer, "/count", "{error}");
    let error = codec
        .from_json(br#"{"message": "x"} trailing"#, &mut out)
        .unwrap_err();
    assert!(error.rule.contains("trailing"), "{error}");
}

#[test]
fn nested_messages_packages_and_indexes() {
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"google/protobuf/timestamp.proto\";\n\
        message Other { int32 a = 1; }\nmessage Order {\n  message Line { string sku = 1; int32 qty = 2; }\n\
        repeated Line lines = 1;\n  google.protobuf.Timestamp at = 2;\n}\n";
    let order = ProtobufCodec::compile(text, "Order").unwrap();
    assert_eq!(order.indexes(), [1]);
    let line = ProtobufCodec::compile(text, "shop.Order.Line").unwrap();
    assert_eq!(line.indexes(), [1, 0]);
    assert_eq!(order.at_indexes(&[1, 0]).unwrap().indexes(), [1, 0]);
    assert!(order.at_indexes(&[7]).is_none());
    let mut out = Vec::new();
    order
        .from_json(
            br#"{"lines": [{"sku": "a", "qty": 2}], "at": "2026-12-03T10:00:00Z"}"#,
            &mut out,
        )
        .unwrap();
    let json = String::from_utf8(order.to_json(&out).unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"lines":[{"sku":"a","qty":2}],"at":"2026-12-03T10:00:00Z"}"#
    );
    let error = order
        .from_json(br#"{"lines": [{"sku": 5}]}"#, &mut out)
        .unwrap_err();
    assert_eq!(error.pointer, "/lines/0/sku", "{error}");
}

#[test]
fn bad_schemas_and_records_are_refused() {
    let error = ProtobufCodec::compile("message {", "Request").unwrap_err();
    assert!(error.to_string().contains("does not compile"), "{error}");
    let error = ProtobufCodec::compile(REQUEST, "Nope").unwrap_err();
    assert_eq!(
        error.to_string(),
        "the protobuf schema defines no message 'Nope'"
    );
    let error =
        ProtobufCodec::compile("syntax = \"proto3\";\nimport \"other.proto\";\n", "X").unwrap_err();
    assert!(error.to_string().contains("other.proto"), "{error}");
}
