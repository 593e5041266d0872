//! The progress codec behind ETags and SSE event ids, `Last-Event-ID` parsing and
//! `If-None-Match`: no panic on any input, and decode(encode(x)) == x.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sluice_shared::wire::etag::{IfNoneMatch, decode_progress, encode_progress};
use sluice_shared::wire::event_id::parse_last_event_id;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(progress) = decode_progress(text) {
            let again = encode_progress(&progress);
            assert_eq!(decode_progress(&again), Some(progress));
        }
        let _ = parse_last_event_id(text);
    }
    let pairs: Vec<(i32, i64)> = data
        .chunks_exact(12)
        .map(|c| {
            let p = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let o = i64::from_le_bytes([c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]]);
            (p, o)
        })
        .collect();
    let encoded = encode_progress(&pairs);
    assert_eq!(decode_progress(&encoded).as_deref(), Some(pairs.as_slice()));
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::IF_NONE_MATCH, value);
        if let Ok(Some(condition)) = IfNoneMatch::parse(&headers) {
            let _ = condition.matches(&encoded);
        }
    }
});
