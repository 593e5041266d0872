//! Topic feeds: one shared consumer per streamed topic, feeding every SSE stream on it.
//!
//! The feed reads every partition from the start and keeps the records it read, in read
//! order, in an in-memory window bounded by the cluster's `cache-max-bytes`: the oldest
//! records leave the window first. Streams read the window with their own cursor (a sequence
//! number), so a slow stream never holds up the consumer or the other streams, and a new or
//! resuming stream replays from the window without a consumer of its own.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rdkafka::message::{BorrowedMessage, Message};
use sluice_shared::table::KafkaCluster;

use super::client::ClientError;
use super::consumer::headers_of;
use super::topics::{TopicPool, TopicSet, TopicView};

/// Bytes counted per record on top of its key, value and headers.
const RECORD_OVERHEAD: usize = 96;

/// One record as streams see it.
#[derive(Debug)]
pub struct Record {
    /// Position in the feed; increases by one per record.
    pub seq: u64,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value; `None` for a tombstone.
    pub value: Option<Bytes>,
    /// Headers in record order.
    pub headers: Vec<(String, Bytes)>,
    /// The value as the streams of one model show it, computed once for them all: the
    /// model's address and what it shows.
    pub shown: std::sync::OnceLock<(usize, Shown)>,
    /// SSE deliveries of this record recorded as spans so far.
    pub traced: std::sync::atomic::AtomicU32,
}

/// A record's value as a model shows it.
#[derive(Debug, Clone)]
pub enum Shown {
    /// As it is.
    Same,
    /// Converted (to JSON).
    Converted(Bytes),
    /// Not at all: it does not fit its model.
    Hidden,
}

impl Record {
    fn size(&self) -> usize {
        self.key.as_ref().map_or(0, Bytes::len)
            + self.value.as_ref().map_or(0, Bytes::len)
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 16)
                .sum::<usize>()
            + RECORD_OVERHEAD
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// The window of records a feed holds.
#[derive(Debug, Default)]
pub struct FeedState {
    window: VecDeque<Arc<Record>>,
    bytes: usize,
    next_seq: u64,
    /// Next offset to read, per partition.
    pub next_offsets: BTreeMap<i32, i64>,
}

impl FeedState {
    /// Sequence number of the oldest record held (== `next_seq` when empty).
    pub fn first_seq(&self) -> u64 {
        self.window.front().map_or(self.next_seq, |r| r.seq)
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// For each partition of `progress`, how many offsets lie between it and the oldest record
    /// held for that partition: records a resume from `progress` can no longer get.
    pub fn missing_before(&self, progress: &BTreeMap<i32, i64>) -> i64 {
        let mut pending: Vec<i32> = progress.keys().copied().collect();
        let mut missing = 0;
        for record in &self.window {
            if pending.is_empty() {
                break;
            }
            if let Some(at) = pending.iter().position(|p| *p == record.partition) {
                pending.swap_remove(at);
                missing += (record.offset - progress[&record.partition]).max(0);
            }
        }
        missing
    }

    /// Up to `max` records from `seq` on, and at most about `max_bytes` of them.
    pub fn from(&self, seq: u64, max: usize, max_bytes: usize) -> Vec<Arc<Record>> {
        let start = usize::try_from(seq.saturating_sub(self.first_seq())).unwrap_or(usize::MAX);
        let mut bytes = 0;
        self.window
            .iter()
            .skip(start)
            .take(max)
            .take_while(|record| {
                let fits = bytes == 0 || bytes + record.size() <= max_bytes;
                bytes += record.size();
                fits
            })
            .cloned()
            .collect()
    }

    fn push(&mut self, mut record: Record, max_bytes: usize) {
        record.seq = self.next_seq;
        self.next_seq += 1;
        self.next_offsets
            .insert(record.partition, record.offset + 1);
        self.bytes += record.size();
        self.window.push_back(Arc::new(record));
        while self.bytes > max_bytes && self.window.len() > 1 {
            if let Some(old) = self.window.pop_front() {
                self.bytes -= old.size();
            }
        }
    }
}

/// The feed of one topic.
pub type TopicFeed = TopicView<FeedState>;

/// Starts the feed of `topic`.
pub async fn start(cluster: &KafkaCluster, topic: &str) -> Result<TopicFeed, ClientError> {
    let state = FeedState {
        next_seq: 1,
        ..FeedState::default()
    };
    TopicView::start(cluster, topic, "feed", state, fold).await
}

fn fold(state: &mut FeedState, message: &BorrowedMessage<'_>, max_bytes: usize) -> bool {
    let record = Record {
        seq: 0,
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(Bytes::copy_from_slice),
        value: message.payload().map(Bytes::copy_from_slice),
        headers: headers_of(message),
        shown: std::sync::OnceLock::new(),
        traced: std::sync::atomic::AtomicU32::new(0),
    };
    state.push(record, max_bytes);
    true
}

/// The feeds of one applied configuration.
pub type TopicFeeds = TopicSet<TopicFeed>;

/// Starts feeds and keeps them across configurations that stream the same topics.
pub type FeedPool = TopicPool<TopicFeed>;

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64, size: usize) -> Record {
        Record {
            seq: 0,
            partition,
            offset,
            key: None,
            value: Some(Bytes::from(vec![b'x'; size])),
            headers: Vec::new(),
            shown: std::sync::OnceLock::new(),
            traced: std::sync::atomic::AtomicU32::new(0),
        }
    }

    #[test]
    fn the_window_keeps_the_newest_records_within_the_bound() {
        let mut state = FeedState {
            next_seq: 1,
            ..FeedState::default()
        };
        for offset in 0..100 {
            state.push(record(0, offset, 1000), 20_000);
        }
        assert!(state.bytes <= 20_000);
        assert_eq!(state.next_seq(), 101);
        assert!(state.first_seq() > 1);
        let tail = state.from(state.first_seq(), 1000, usize::MAX);
        assert_eq!(tail.last().map(|r| r.offset), Some(99));
        assert_eq!(state.next_offsets.get(&0), Some(&100));
        assert_eq!(state.from(101, 10, usize::MAX).len(), 0);
        assert_eq!(
            state
                .from(95, 2, usize::MAX)
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>(),
            vec![95, 96]
        );
        assert_eq!(state.from(95, 100, 1500).len(), 1, "byte-bounded batches");
        let oldest = state.from(state.first_seq(), 1, usize::MAX)[0].offset;
        let progress: BTreeMap<i32, i64> = [(0, oldest - 5)].into_iter().collect();
        assert_eq!(state.missing_before(&progress), 5);
        let progress: BTreeMap<i32, i64> = [(0, oldest + 3), (7, 0)].into_iter().collect();
        assert_eq!(state.missing_before(&progress), 0);
    }
}
