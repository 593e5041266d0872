//! ETags: Zilla's progress encoding, and `If-None-Match` parsing.
//!
//! `progress64 := base64url(0x01, varint32 count, count x {varint32 partition, varint64 offset})`
//! with Kafka-style zig-zag varints and padded base64url, optionally followed by
//! `/<the record's etag header>`. The encoding depends only on partitions and offsets, so an
//! ETag means the same on every instance. Sluice sends ETags quoted (RFC 9110) and accepts
//! quoted, weak (`W/"..."`), bare (Zilla's unquoted form) and list forms, and `*`.

use super::header::HeaderError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use http::HeaderMap;

/// Encodes (partition, offset) pairs.
pub fn encode_progress(partitions: &[(i32, i64)]) -> String {
    let mut bytes = Vec::with_capacity(2 + partitions.len() * 6);
    bytes.push(0x01);
    put_varint(
        &mut bytes,
        zigzag(i64::try_from(partitions.len()).unwrap_or(i64::MAX)),
    );
    for (partition, offset) in partitions {
        put_varint(&mut bytes, zigzag(i64::from(*partition)));
        put_varint(&mut bytes, zigzag(*offset));
    }
    URL_SAFE.encode(bytes)
}

/// Decodes a progress; `None` for anything that is not one.
pub fn decode_progress(text: &str) -> Option<Vec<(i32, i64)>> {
    let bytes = URL_SAFE.decode(text).ok()?;
    let (&version, mut rest) = bytes.split_first()?;
    if version != 0x01 {
        return None;
    }
    let count = unzigzag(take_varint(&mut rest)?);
    let count = usize::try_from(count).ok().filter(|c| *c <= 100_000)?;
    let mut partitions = Vec::with_capacity(count);
    for _ in 0..count {
        let partition = i32::try_from(unzigzag(take_varint(&mut rest)?)).ok()?;
        let offset = unzigzag(take_varint(&mut rest)?);
        partitions.push((partition, offset));
    }
    rest.is_empty().then_some(partitions)
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A parsed `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfNoneMatch {
    /// `*`: matches any current representation.
    Any,
    /// Opaque tags, quotes and `W/` removed.
    Tags(Vec<String>),
}

impl IfNoneMatch {
    /// Reads every `If-None-Match` header; `Ok(None)` when there is none.
    pub fn parse(headers: &HeaderMap) -> Result<Option<Self>, HeaderError> {
        let mut tags = Vec::new();
        let mut any = false;
        for value in headers.get_all(http::header::IF_NONE_MATCH) {
            let text = value
                .to_str()
                .map_err(|_| HeaderError::IfNoneMatchNotAscii)?;
            for element in split_list(text)? {
                if element == "*" {
                    any = true;
                } else {
                    tags.push(element);
                }
            }
        }
        Ok(match (any, tags.is_empty()) {
            (true, _) => Some(Self::Any),
            (false, true) => None,
            (false, false) => Some(Self::Tags(tags)),
        })
    }

    /// Whether `current` (unquoted) matches; weak comparison, as RFC 9110 asks here.
    pub fn matches(&self, current: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag == current),
        }
    }
}

/// Splits `a, W/"b", "c,d"` into opaque tags, refusing malformed input.
fn split_list(text: &str) -> Result<Vec<String>, HeaderError> {
    let bad = || HeaderError::NotEntityTags(text.chars().take(80).collect());
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let weakless = rest.strip_prefix("W/").unwrap_or(rest);
        let (tag, after) = if let Some(quoted) = weakless.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(bad)?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = weakless.find(',').unwrap_or(weakless.len());
            (weakless[..end].trim(), &weakless[end..])
        };
        if tag.is_empty() && !weakless.starts_with('"') {
            return Err(bad());
        }
        if !tag.bytes().all(|b| b == b'!' || (0x23..=0x7e).contains(&b)) {
            return Err(bad());
        }
        out.push(tag.to_owned());
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if after.is_empty() => after,
            None => return Err(bad()),
        };
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_vectors_decode() {
        assert_eq!(decode_progress("AQQABAIC"), Some(vec![(0, 2), (1, 1)]));
        assert_eq!(decode_progress("AQIAAQ=="), Some(vec![(0, -1)]));
        assert_eq!(encode_progress(&[(0, 2), (1, 1)]), "AQQABAIC");
        assert_eq!(encode_progress(&[(0, -1)]), "AQIAAQ==");
        assert_eq!(decode_progress("not base64!"), None);
        assert_eq!(decode_progress("AQQABA=="), None, "truncated");
    }

    fn parse(values: &[&str]) -> Result<Option<IfNoneMatch>, HeaderError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(http::header::IF_NONE_MATCH, value.parse().expect("value"));
        }
        IfNoneMatch::parse(&headers)
    }

    #[test]
    fn if_none_match_forms() {
        let tags = |list: &[&str]| {
            Ok(Some(IfNoneMatch::Tags(
                list.iter().map(|s| (*s).to_owned()).collect(),
            )))
        };
        assert_eq!(parse(&["\"AQIAAg==\""]), tags(&["AQIAAg=="]));
        assert_eq!(parse(&["AQIAAg=="]), tags(&["AQIAAg=="]));
        assert_eq!(parse(&["W/\"AQIAAg==\""]), tags(&["AQIAAg=="]));
        assert_eq!(parse(&["\"a\", W/\"b\" ,c"]), tags(&["a", "b", "c"]));
        assert_eq!(parse(&["\"a\"", "\"b\""]), tags(&["a", "b"]));
        assert_eq!(
            parse(&["AQQABAIC/revision=42"]),
            tags(&["AQQABAIC/revision=42"])
        );
        assert_eq!(parse(&["*"]), Ok(Some(IfNoneMatch::Any)));
        assert_eq!(parse(&[]), Ok(None));
    }

    #[test]
    fn garbage_if_none_match_is_refused() {
        for garbage in ["\"unterminated", "\"a\" \"b\"", ",", "\"a\",,", "a b"] {
            assert!(parse(&[garbage]).is_err(), "{garbage}");
        }
    }

    proptest! {
        #[test]
        fn progress_round_trips(partitions in proptest::collection::vec((0i32..10_000, -1i64..i64::MAX), 0..20)) {
            let encoded = encode_progress(&partitions);
            prop_assert_eq!(decode_progress(&encoded), Some(partitions));
        }

        #[test]
        fn decoding_never_panics(text in "[A-Za-z0-9_=-]{0,40}") {
            let _ = decode_progress(&text);
        }
    }
}
