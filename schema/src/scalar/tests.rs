use super::*;

fn codec(kind: ScalarKind, options: ScalarOptions) -> ScalarCodec {
    ScalarCodec::new(kind, options).unwrap()
}

#[test]
fn integers_in_text_with_range_and_multiple() {
    let int = codec(
        ScalarKind::Int32,
        ScalarOptions {
            range: Some("[1,100)".into()),
            multiple: Some(5.0),
            ..Default::default()
        },
    );
    assert!(int.check(b"5").is_ok());
    assert!(int.check(b"95").is_ok());
    assert_eq!(
        int.check(b"100").unwrap_err().rule,
        "out of the allowed range"
    );
    assert_eq!(
        int.check(b"0").unwrap_err().rule,
        "out of the allowed range"
    );
    assert_eq!(int.check(b"7").unwrap_err().rule, "not a multiple of 5");
    assert_eq!(
        int.check(b"1.5").unwrap_err().rule,
        "expected an integer (int32)"
    );
    assert_eq!(
        int.check(b"").unwrap_err().rule,
        "expected an integer (int32)"
    );
    assert!(
        int.check(b"99999999999")
            .unwrap_err()
            .rule
            .contains("fits int32")
    );
    let long = codec(ScalarKind::Int64, ScalarOptions::default());
    assert!(long.check(b"-9223372036854775808").is_ok());
}

#[test]
fn binary_numbers_have_their_width() {
    let binary = ScalarOptions {
        format: ScalarFormat::Binary,
        ..Default::default()
    };
    let int = codec(ScalarKind::Int32, binary.clone());
    assert!(int.check(&7i32.to_be_bytes()).is_ok());
    assert_eq!(
        int.check(b"12345").unwrap_err().rule,
        "int32 in binary is 4 bytes, found 5"
    );
    let double = codec(ScalarKind::Double, binary);
    assert!(double.check(&1.5f64.to_be_bytes()).is_ok());
}

#[test]
fn floats_in_text() {
    let float = codec(
        ScalarKind::Double,
        ScalarOptions {
            range: Some("(0,1]".into()),
            ..Default::default()
        },
    );
    assert!(float.check(b"0.5").is_ok());
    assert!(float.check(b"0").is_err());
    assert!(float.check(b"NaN").is_err());
    assert!(float.check(b"abc").is_err());
}

#[test]
fn strings_with_length_pattern_and_encoding() {
    let text = codec(
        ScalarKind::String,
        ScalarOptions {
            min_length: Some(2),
            max_length: Some(4),
            pattern: Some("[a-zé]+".into()),
            ..Default::default()
        },
    );
    assert!(text.check("éa".as_bytes()).is_ok());
    assert_eq!(
        text.check(b"a").unwrap_err().rule,
        "shorter than 2 characters"
    );
    assert_eq!(
        text.check(b"abcde").unwrap_err().rule,
        "longer than 4 characters"
    );
    assert_eq!(
        text.check(b"ab1").unwrap_err().rule,
        "does not match the pattern"
    );
    assert!(
        text.check(b"\xff\xfe")
            .unwrap_err()
            .rule
            .contains("not UTF-8")
    );
    let utf16 = codec(
        ScalarKind::String,
        ScalarOptions {
            utf16: true,
            ..Default::default()
        },
    );
    assert!(utf16.check(b"\0h\0i").is_ok());
    assert!(utf16.check(b"\0h\0").is_err());
    assert!(utf16.check(b"\xd8\x00\0a").is_err());
}

#[test]
fn bad_options_are_refused() {
    for (kind, options) in [
        (
            ScalarKind::Int32,
            ScalarOptions {
                range: Some("1..2".into()),
                ..Default::default()
            },
        ),
        (
            ScalarKind::Int32,
            ScalarOptions {
                multiple: Some(0.0),
                ..Default::default()
            },
        ),
        (
            ScalarKind::String,
            ScalarOptions {
                pattern: Some("(".into()),
                ..Default::default()
            },
        ),
        (
            ScalarKind::String,
            ScalarOptions {
                min_length: Some(3),
                max_length: Some(2),
                ..Default::default()
            },
        ),
    ] {
        assert!(ScalarCodec::new(kind, options).is_err());
    }
}
