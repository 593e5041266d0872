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
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use bytes::Bytes;
use rdkafka::message::{BorrowedMessage, Message};
use sluice_shared::table::KafkaCluster;
use tokio::sync::watch;

use super::consumer::{CatchUp, TopicPool, TopicSet, consume, headers_of};
use tokio::task::JoinHandle;

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

struct CacheShared {
    topic: String,
    state: RwLock<CacheState>,
    version: watch::Sender<u64>,
    catch_up: CatchUp,
    max_bytes: usize,
}

/// The cache of one topic.
pub struct TopicCache {
    shared: Arc<CacheShared>,
    task: JoinHandle<()>,
}

impl Drop for TopicCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TopicCache {
    /// Starts reading `topic` from the beginning of every partition.
    pub async fn start(cluster: &KafkaCluster, topic: &str) -> Result<Self, String> {
        let context = |error: String| format!("fetch topic '{topic}': {error}");
        let consumer = super::consumer::shared_consumer(cluster, "cache", true).map_err(context)?;
        let partitions = super::consumer::assign_topic(&consumer, topic, false)
            .await
            .map_err(context)?;
        let shared = Arc::new(CacheShared {
            topic: topic.to_owned(),
            state: RwLock::new(CacheState::default()),
            version: watch::Sender::new(0),
            catch_up: CatchUp::new(),
            max_bytes: usize::try_from(cluster.cache_max_bytes).unwrap_or(usize::MAX),
        });
        let task = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let topic = shared.topic.clone();
                consume(consumer, &topic, partitions, &shared.catch_up, |message| {
                    apply(&shared, message)
                })
                .await
            })
        };
        Ok(Self { shared, task })
    }

    /// Waits until the cache caught up with the topic, up to `timeout`.
    pub async fn ready(&self, timeout: Duration) -> bool {
        self.shared.catch_up.ready(timeout).await
    }

    /// A receiver that sees every change after this call.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.version.subscribe()
    }

    /// The current state; never hold it across an await.
    pub fn read(&self) -> RwLockReadGuard<'_, CacheState> {
        // invariant: no code panics while holding the lock; recover the data if one did.
        self.shared
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn apply(shared: &CacheShared, message: &BorrowedMessage<'_>) {
    let Some(key) = message.key() else {
        return;
    };
    let headers = headers_of(message);
    let value = message.payload().map(Bytes::copy_from_slice);
    {
        let mut state = shared
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.apply(
            Bytes::copy_from_slice(key),
            message.partition(),
            message.offset(),
            value,
            headers,
            shared.max_bytes,
        );
    }
    shared.version.send_modify(|version| *version += 1);
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
