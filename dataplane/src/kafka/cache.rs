//! Topic caches: one shared consumer per fetched topic, keeping the latest record per key.
//!
//! The cache reads every partition from the start and keeps, per key, only the newest record
//! (a compacted view whatever the topic's cleanup policy); a tombstone stays as a marker so
//! a deleted key answers 404 and list ETags move. Records with a null key are not cached.
//! It is *caught up* once every partition reached the end it had when the cache started
//! (librdkafka's partition EOF, from fetch responses). Every change bumps a version on a
//! `watch` channel, which is what long-polls wait on.
//!
//! Memory: keys, values and headers are counted against `cache-max-bytes`. Over the bound
//! the values of the least recently written keys are dropped, keeping the key as *evicted*:
//! such a key, and any list, then answers 503 `cache_evicted` instead of a wrong answer.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rdkafka::message::{BorrowedMessage, Message};
use sluice_shared::table::KafkaCluster;

use super::client::ClientError;
use super::consumer::headers_of;
use super::topics::{TopicPool, TopicSet, TopicView};

/// Bytes counted per entry on top of its key, value and headers.
const ENTRY_OVERHEAD: usize = 96;

/// The cached state of one key.
#[derive(Debug, Clone)]
pub enum Value {
    /// The latest record has this value.
    Live(Bytes),
    /// The latest record is a tombstone.
    Tombstone,
    /// The value was dropped at the memory bound.
    Evicted,
}

/// The latest record of one key.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Partition of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
    /// Write order within the cache.
    pub seq: u64,
    /// The value.
    pub value: Value,
    /// The record's headers; for a tombstone, those of the record it deleted.
    pub headers: Arc<Vec<(String, Bytes)>>,
    /// Whether the value is valid JSON.
    pub json: bool,
}

impl Entry {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn size(&self, key: &[u8]) -> usize {
        let value = match &self.value {
            Value::Live(bytes) => bytes.len(),
            _ => 0,
        };
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 16)
            .sum();
        key.len() + value + headers + ENTRY_OVERHEAD
    }
}

/// Everything a cache holds.
#[derive(Debug, Default)]
pub struct CacheState {
    /// Latest entry per key.
    pub entries: HashMap<Bytes, Entry>,
    order: VecDeque<(u64, Bytes)>,
    bytes: usize,
    /// Keys whose value was dropped at the memory bound.
    pub evicted: usize,
    seq: u64,
}

impl CacheState {
    fn apply(
        &mut self,
        key: Bytes,
        partition: i32,
        offset: i64,
        value: Option<Bytes>,
        headers: Vec<(String, Bytes)>,
        max_bytes: usize,
    ) {
        self.seq += 1;
        let previous = self.entries.remove(&key);
        if let Some(previous) = &previous {
            self.bytes -= previous.size(&key);
            if matches!(previous.value, Value::Evicted) {
                self.evicted -= 1;
            }
        }
        let entry = match value {
            Some(value) => Entry {
                partition,
                offset,
                seq: self.seq,
                json: serde_json::from_slice::<serde::de::IgnoredAny>(&value).is_ok(),
                value: Value::Live(value),
                headers: Arc::new(headers),
            },
            None => Entry {
                partition,
                offset,
                seq: self.seq,
                json: false,
                value: Value::Tombstone,
                // Keep the deleted record's headers, so header filters still see the key.
                headers: previous.map(|p| p.headers).unwrap_or_default(),
            },
        };
        self.bytes += entry.size(&key);
        self.order.push_back((self.seq, key.clone()));
        self.entries.insert(key, entry);
        self.evict(max_bytes);
        if self.order.len() > 2 * self.entries.len() + 1024 {
            let mut live: Vec<(u64, Bytes)> = self
                .entries
                .iter()
                .map(|(k, e)| (e.seq, k.clone()))
                .collect();
            live.sort_unstable_by_key(|(seq, _)| *seq);
            self.order = live.into();
        }
    }

    fn evict(&mut self, max_bytes: usize) {
        while self.bytes > max_bytes {
            let Some((seq, key)) = self.order.pop_front() else {
                return;
            };
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            if entry.seq != seq || matches!(entry.value, Value::Evicted) {
                continue;
            }
            let before = entry.size(&key);
            entry.value = Value::Evicted;
            entry.headers = Arc::default();
            self.bytes -= before - entry.size(&key);
            self.evicted += 1;
        }
    }

    /// Bytes counted against the bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The cache of one topic.
pub type TopicCache = TopicView<CacheState>;

/// Starts the cache of `topic`.
pub async fn start(cluster: &KafkaCluster, topic: &str) -> Result<TopicCache, ClientError> {
    TopicView::start(cluster, topic, "cache", CacheState::default(), fold).await
}

fn fold(state: &mut CacheState, message: &BorrowedMessage<'_>, max_bytes: usize) -> bool {
    let Some(key) = message.key() else {
        return false;
    };
    state.apply(
        Bytes::copy_from_slice(key),
        message.partition(),
        message.offset(),
        message.payload().map(Bytes::copy_from_slice),
        headers_of(message),
        max_bytes,
    );
    true
}

/// The caches of one applied configuration.
pub type TopicCaches = TopicSet<TopicCache>;

/// Starts caches and keeps them across configurations that fetch the same topics.
pub type CachePool = TopicPool<TopicCache>;

#[cfg(test)]
mod tests {
    use super::*;

    fn put(state: &mut CacheState, key: &str, offset: i64, value: Option<&str>, max: usize) {
        state.apply(
            Bytes::copy_from_slice(key.as_bytes()),
            0,
            offset,
            value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            vec![("h".to_owned(), Bytes::from_static(b"1"))],
            max,
        );
    }

    #[test]
    fn keeps_the_latest_record_per_key_and_tombstones() {
        let mut state = CacheState::default();
        put(&mut state, "a", 0, Some("1"), usize::MAX);
        put(&mut state, "a", 1, Some("{\"v\":2}"), usize::MAX);
        put(&mut state, "b", 2, Some("x"), usize::MAX);
        put(&mut state, "b", 3, None, usize::MAX);
        let a = &state.entries[&Bytes::from_static(b"a")];
        assert!(matches!(&a.value, Value::Live(v) if &v[..] == b"{\"v\":2}"));
        assert!(a.json);
        assert_eq!(a.offset, 1);
        let b = &state.entries[&Bytes::from_static(b"b")];
        assert!(matches!(b.value, Value::Tombstone));
        assert_eq!(
            b.header("h").map(|v| &v[..]),
            Some(&b"1"[..]),
            "a tombstone keeps the deleted headers"
        );
    }

    #[test]
    fn over_the_bound_the_oldest_values_are_evicted_and_counted() {
        let mut state = CacheState::default();
        let value = "v".repeat(1000);
        for i in 0..100 {
            put(&mut state, &format!("k{i}"), i, Some(&value), 20_000);
        }
        assert!(state.bytes() <= 20_000, "{}", state.bytes());
        assert!(state.evicted > 0);
        assert!(matches!(
            state.entries[&Bytes::from_static(b"k0")].value,
            Value::Evicted
        ));
        assert!(matches!(
            state.entries[&Bytes::from_static(b"k99")].value,
            Value::Live(_)
        ));
        // A new write of an evicted key brings it back.
        put(&mut state, "k0", 100, Some("small"), 20_000);
        assert!(matches!(
            state.entries[&Bytes::from_static(b"k0")].value,
            Value::Live(_)
        ));
    }
}
