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
    let mut out = String::new();
    encode_progress_into(partitions, &mut out);
    out
}

/// Appends the encoding of (partition, offset) pairs to `out`; a progress of up to four
/// partitions is built on the stack.
pub fn encode_progress_into(partitions: &[(i32, i64)], out: &mut String) {
    // A varint of 64 bits takes at most 10 bytes: version, count and 2 per partition.
    const SMALL: usize = 4;
    let mut stack = [0u8; 1 + 10 + SMALL * 20];
    let mut heap = Vec::new();
    let bytes: &[u8] = if partitions.len() <= SMALL {
        let mut at = 0;
        let mut put = |byte: u8| {
            stack[at] = byte;
            at += 1;
        };
        write_progress(partitions, &mut put);
        &stack[..at]
    } else {
        heap.reserve(11 + partitions.len() * 20);
        write_progress(partitions, &mut |byte| heap.push(byte));
        &heap
    };
    URL_SAFE.encode_string(bytes, out);
}

fn write_progress(partitions: &[(i32, i64)], put: &mut dyn FnMut(u8)) {
    put(0x01);
    put_varint(
        put,
        zigzag(i64::try_from(partitions.len()).unwrap_or(i64::MAX)),
    );
    for (partition, offset) in partitions {
        put_varint(put, zigzag(i64::from(*partition)));
        put_varint(put, zigzag(*offset));
    }
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

fn put_varint(put: &mut dyn FnMut(u8), mut value: u64) {
    while value >= 0x80 {
        put((value as u8) | 0x80);
        value >>= 7;
    }
    put(value as u8);
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
        let any = each_condition(headers.get_all(http::header::IF_NONE_MATCH), &mut |tag| {
            tags.push(tag.to_owned())
        })?;
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

/// `If-None-Match` read in place, for the data path: checked once as
/// [`IfNoneMatch::parse`] checks it, then matched without copying its tags.
#[derive(Debug)]
pub struct IfNoneMatchRef<'a> {
    values: http::header::GetAll<'a, http::HeaderValue>,
    any: bool,
    /// The tag, when the header holds exactly one (the usual case): matched without a
    /// second pass over the header.
    single: Option<&'a str>,
}

impl<'a> IfNoneMatchRef<'a> {
    /// Checks every `If-None-Match` header; `Ok(None)` when there is none.
    pub fn parse(headers: &'a HeaderMap) -> Result<Option<Self>, HeaderError> {
        let values = headers.get_all(http::header::IF_NONE_MATCH);
        let mut tags = 0usize;
        let mut first = None;
        let any = each_condition(values.iter(), &mut |tag| {
            tags += 1;
            first.get_or_insert(tag);
        })?;
        let single = first.filter(|_| tags == 1);
        Ok((any || tags > 0).then_some(Self {
            values,
            any,
            single,
        }))
    }

    /// Whether `current` (unquoted) matches; weak comparison, as RFC 9110 asks here.
    pub fn matches(&self, current: &str) -> bool {
        if self.any {
            return true;
        }
        if let Some(tag) = self.single {
            return tag == current;
        }
        self.values.iter().any(|value| {
            let mut hit = false;
            if let Ok(text) = value.to_str() {
                // Checked in `parse`: this cannot fail now.
                let _ = each_tag(text, &mut |tag| hit |= tag == current);
            }
            hit
        })
    }
}

/// Checks every `If-None-Match` value and calls `visit` with each tag but `*`; whether
/// one of them was `*`.
fn each_condition<'v>(
    values: impl IntoIterator<Item = &'v http::HeaderValue>,
    visit: &mut dyn FnMut(&'v str),
) -> Result<bool, HeaderError> {
    let mut any = false;
    for value in values {
        let text = value
            .to_str()
            .map_err(|_| HeaderError::IfNoneMatchNotAscii)?;
        each_tag(text, &mut |tag| {
            if tag == "*" {
                any = true;
            } else {
                visit(tag);
            }
        })?;
    }
    Ok(any)
}

/// Calls `visit` with each opaque tag of `a, W/"b", "c,d"`, refusing malformed input.
fn each_tag<'t>(text: &'t str, visit: &mut dyn FnMut(&'t str)) -> Result<(), HeaderError> {
    let bad = || HeaderError::NotEntityTags(text.chars().take(80).collect());
    let mut seen = false;
    let mut rest = text.trim_ascii();
    while !rest.is_empty() {
        let weakless = rest.strip_prefix("W/").unwrap_or(rest);
        let (tag, after) = if let Some(quoted) = weakless.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(bad)?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = weakless.find(',').unwrap_or(weakless.len());
            (weakless[..end].trim_ascii(), &weakless[end..])
        };
        if tag.is_empty() && !weakless.starts_with('"') {
            return Err(bad());
        }
        if !tag.bytes().all(|b| b == b'!' || (0x23..=0x7e).contains(&b)) {
            return Err(bad());
        }
        visit(tag);
        seen = true;
        let after = after.trim_ascii_start();
        rest = match after.strip_prefix(',') {
            Some(next) => next.trim_ascii_start(),
            None if after.is_empty() => after,
            None => return Err(bad()),
        };
    }
    if !seen {
        return Err(bad());
    }
    Ok(())
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
            let mut headers = HeaderMap::new();
            headers.append(http::header::IF_NONE_MATCH, garbage.parse().expect("value"));
            assert!(IfNoneMatchRef::parse(&headers).is_err(), "{garbage}");
        }
    }

    #[test]
    fn the_in_place_form_matches_as_the_owned_one() {
        let cases: &[&[&str]] = &[
            &["\"AQIAAg==\""],
            &["W/\"AQIAAg==\", other"],
            &["\"a\"", "\"AQIAAg==/x\""],
            &["*"],
            &["\"a\", *"],
            &[],
        ];
        for values in cases {
            let mut headers = HeaderMap::new();
            for value in *values {
                headers.append(http::header::IF_NONE_MATCH, value.parse().expect("value"));
            }
            let owned = IfNoneMatch::parse(&headers).expect("valid");
            let in_place = IfNoneMatchRef::parse(&headers).expect("valid");
            assert_eq!(owned.is_some(), in_place.is_some(), "{values:?}");
            for current in ["AQIAAg==", "AQIAAg==/x", "a", "b", "other"] {
                assert_eq!(
                    owned.as_ref().is_some_and(|c| c.matches(current)),
                    in_place.as_ref().is_some_and(|c| c.matches(current)),
                    "{values:?} against {current}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn progress_round_trips(partitions in proptest::collection::vec((0i32..10_000, -1i64..i64::MAX), 0..20)) {
            let encoded = encode_progress(&partitions);
            let mut appended = String::from("\"");
            encode_progress_into(&partitions, &mut appended);
            prop_assert_eq!(&appended[1..], encoded.as_str());
            prop_assert_eq!(decode_progress(&encoded), Some(partitions));
        }

        #[test]
        fn decoding_never_panics(text in "[A-Za-z0-9_=-]{0,40}") {
            let _ = decode_progress(&text);
        }
    }
}
