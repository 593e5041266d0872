//! What the cache says for a fetch route right now: the newest record of an item, or the
//! list, shown through the topic's value model, with its ETag.

use bytes::Bytes;
use http::StatusCode;
use sluice_shared::table::FetchAction;
use sluice_shared::wire::etag::encode_progress_into;

use crate::kafka::cache::{CacheState, Entry, TopicCache, Value};
use crate::kafka::feed::Shown;
use crate::proxy::context::Filter;
use crate::proxy::view::View;

/// What the cache says right now.
pub(super) enum Outcome {
    Found {
        /// Quoted, as it is sent.
        etag: String,
        status: StatusCode,
        body: Bytes,
        content_type: Option<Bytes>,
    },
    Missing,
    Evicted,
}

pub(super) fn current(
    cache: &TopicCache,
    action: &FetchAction,
    filters: &[Filter],
    view: Option<&View>,
) -> Result<Outcome, (usize, i64)> {
    let state = cache.read();
    if action.merge {
        list(&state, filters, view)
    } else {
        item(&state, filters, view)
    }
}

/// A live value as the view shows it: its bytes, and whether they are JSON it made.
fn shown(view: Option<&View>, value: &Bytes) -> Result<Option<(Bytes, bool)>, (usize, i64)> {
    let Some(view) = view else {
        return Ok(Some((value.clone(), false)));
    };
    if value.is_empty() {
        return Ok(Some((value.clone(), false)));
    }
    Ok(match view.show(value)? {
        Shown::Same => Some((value.clone(), false)),
        Shown::Converted(converted) => Some((converted, view.json())),
        Shown::Hidden => None,
    })
}

fn passes(filters: &[Filter], key: &[u8], entry: &Entry) -> bool {
    filters.is_empty()
        || filters
            .iter()
            .any(|filter| filter.matches(Some(key), &entry.headers))
}

fn item(
    state: &CacheState,
    filters: &[Filter],
    view: Option<&View>,
) -> Result<Outcome, (usize, i64)> {
    let keyed = !filters.is_empty() && filters.iter().all(|f| f.key.is_some());
    let latest = if keyed {
        // Every filter names a key: direct lookups.
        filters
            .iter()
            .filter_map(|f| f.key.as_deref())
            .filter_map(|key| state.entries.get_key_value(key.as_bytes()))
            .filter(|(key, entry)| passes(filters, key, entry))
            .max_by_key(|(_, entry)| entry.seq)
    } else {
        state
            .entries
            .iter()
            .filter(|(key, entry)| passes(filters, key, entry))
            .max_by_key(|(_, entry)| entry.seq)
    };
    let Some((_, entry)) = latest else {
        return Ok(Outcome::Missing);
    };
    Ok(match &entry.value {
        Value::Tombstone => Outcome::Missing,
        Value::Evicted => Outcome::Evicted,
        Value::Live(value) => {
            let Some((value, json)) = shown(view, value)? else {
                return Ok(Outcome::Missing);
            };
            let suffix = entry.header("etag");
            let mut etag = String::with_capacity(16 + suffix.map_or(0, |s| s.len() + 1));
            etag.push('"');
            encode_progress_into(&[(entry.partition, entry.offset + 1)], &mut etag);
            if let Some(suffix) = suffix {
                etag.push('/');
                etag.push_str(&String::from_utf8_lossy(suffix));
            }
            etag.push('"');
            let status = if value.is_empty() {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::OK
            };
            let content_type = if json {
                Some(Bytes::from_static(b"application/json"))
            } else {
                entry.header("content-type").cloned()
            };
            Outcome::Found {
                etag,
                status,
                body: value,
                content_type,
            }
        }
    })
}

fn list(
    state: &CacheState,
    filters: &[Filter],
    view: Option<&View>,
) -> Result<Outcome, (usize, i64)> {
    if state.evicted > 0 {
        return Ok(Outcome::Evicted);
    }
    let mut members: Vec<&Entry> = state
        .entries
        .iter()
        .filter(|(key, entry)| passes(filters, key, entry))
        .map(|(_, entry)| entry)
        .collect();
    members.sort_unstable_by_key(|entry| (entry.partition, entry.offset));
    let mut progress: Vec<(i32, i64)> = Vec::new();
    let mut body = Vec::with_capacity(2 + members.len() * 32);
    body.push(b'[');
    let mut first = true;
    for entry in &members {
        match progress.last_mut() {
            Some((partition, offset)) if *partition == entry.partition => {
                *offset = entry.offset + 1
            }
            _ => progress.push((entry.partition, entry.offset + 1)),
        }
        let Value::Live(value) = &entry.value else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let Some((value, converted)) = shown(view, value)? else {
            continue;
        };
        if !first {
            body.push(b',');
        }
        first = false;
        if entry.json || converted {
            body.extend_from_slice(&value);
        } else {
            let text = serde_json::Value::String(String::from_utf8_lossy(&value).into_owned());
            body.extend_from_slice(text.to_string().as_bytes());
        }
    }
    body.push(b']');
    if progress.is_empty() {
        // Nothing listed: Zilla's progress of "no record yet" on partition 0 (`AQIAAQ==`),
        // so the ETag of an empty list is the one its examples show.
        progress.push((0, -1));
    }
    let mut etag = String::with_capacity(8 + progress.len() * 8);
    etag.push('"');
    encode_progress_into(&progress, &mut etag);
    etag.push('"');
    Ok(Outcome::Found {
        etag,
        status: StatusCode::OK,
        body: Bytes::from(body),
        content_type: Some(Bytes::from_static(b"application/json")),
    })
}
