//! RFC 7240 `Prefer` parsing: any header values give a preference set or an error, never a
//! panic, and an accepted `wait` respects the cap check.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sluice_shared::wire::prefer::Prefer;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append("prefer", value);
        }
    }
    if let Ok(prefer) = Prefer::parse(&headers) {
        if let Some(wait) = prefer.wait {
            assert_eq!(prefer.check_wait(wait).is_ok(), true);
        }
    }
});
