//! Reply taps: one shared consumer per reply topic, dispatching replies to the requests
//! waiting for them by correlation id.
//!
//! A tap starts at the end of every partition of its topic, found before the configuration
//! that needs it goes live, so a request registered with [`ReplyTap::wait`] before it is
//! produced can never miss its reply. Every reply seen is also kept in a bounded,
//! time-limited cache: it answers idempotent replays without producing again, and async
//! polls that reach this instance although another one produced the request.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use sluice_shared::sync::lock;
use sluice_shared::table::KafkaCluster;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::debug;

use super::client::ClientError;

/// Replies kept per tap.
const CACHE_MAX_ENTRIES: usize = 10_000;
/// Reply bytes kept per tap.
const CACHE_MAX_BYTES: usize = 64 * 1024 * 1024;
/// How long a reply is kept.
const CACHE_TTL: Duration = Duration::from_secs(300);

/// A reply record, ready to become an HTTP response.
#[derive(Debug)]
pub struct Reply {
    /// `:status` header, or 200.
    pub status: Option<u16>,
    /// Other headers, in record order, without `:status` and the correlation id.
    pub headers: Vec<(String, Bytes)>,
    /// The record value; empty for a null value.
    pub body: Bytes,
}

impl Reply {
    fn size(&self) -> usize {
        self.body.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }
}

type WaiterList = Vec<(u64, oneshot::Sender<Arc<Reply>>)>;

#[derive(Default)]
struct Cache {
    replies: HashMap<String, (Instant, Arc<Reply>)>,
    order: VecDeque<(Instant, String)>,
    bytes: usize,
}

impl Cache {
    fn insert(&mut self, correlation_id: String, reply: Arc<Reply>) {
        let now = Instant::now();
        self.bytes += reply.size();
        if let Some((_, old)) = self.replies.insert(correlation_id.clone(), (now, reply)) {
            self.bytes -= old.size();
        }
        self.order.push_back((now, correlation_id));
        self.evict(now);
    }

    fn evict(&mut self, now: Instant) {
        while let Some((at, id)) = self.order.front() {
            let expired = now.duration_since(*at) > CACHE_TTL;
            let over = self.replies.len() > CACHE_MAX_ENTRIES || self.bytes > CACHE_MAX_BYTES;
            if !expired && !over {
                break;
            }
            // Only the newest order entry of an id owns the cached reply.
            if self
                .replies
                .get(id)
                .is_some_and(|(inserted, _)| inserted == at)
                && let Some((_, reply)) = self.replies.remove(id)
            {
                self.bytes -= reply.size();
            }
            self.order.pop_front();
        }
    }

    fn get(&self, correlation_id: &str) -> Option<Arc<Reply>> {
        let (at, reply) = self.replies.get(correlation_id)?;
        (at.elapsed() <= CACHE_TTL).then(|| reply.clone())
    }
}

struct TapShared {
    topic: String,
    correlation_header: String,
    waiters: Mutex<HashMap<String, WaiterList>>,
    cache: Mutex<Cache>,
    next_id: AtomicU64,
}

/// The shared consumer of one reply topic.
pub struct ReplyTap {
    shared: Arc<TapShared>,
    task: JoinHandle<()>,
}

impl Drop for ReplyTap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A request waiting for its reply; leaving it (drop) unregisters it.
pub struct Waiter {
    shared: Arc<TapShared>,
    correlation_id: String,
    id: u64,
    receiver: oneshot::Receiver<Arc<Reply>>,
}

impl Waiter {
    /// The reply, once it arrives.
    pub async fn reply(&mut self) -> Option<Arc<Reply>> {
        (&mut self.receiver).await.ok()
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut waiters = lock(&self.shared.waiters);
        if let Some(list) = waiters.get_mut(&self.correlation_id) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                waiters.remove(&self.correlation_id);
            }
        }
    }
}

impl ReplyTap {
    /// Starts consuming `topic` from the current end of each partition.
    pub async fn start(
        cluster: &KafkaCluster,
        topic: &str,
        correlation_header: &str,
    ) -> Result<Self, ClientError> {
        let context = |error: ClientError| ClientError::Topic {
            what: format!("reply topic '{topic}'"),
            source: Box::new(error),
        };
        let (consumer, positions) =
            super::consumer::Supervised::start(cluster, topic, "reply", false, true)
                .await
                .map_err(context)?;
        let shared = Arc::new(TapShared {
            topic: topic.to_owned(),
            correlation_header: correlation_header.to_owned(),
            waiters: Mutex::new(HashMap::new()),
            cache: Mutex::new(Cache::default()),
            next_id: AtomicU64::new(0),
        });
        let task = {
            let shared = shared.clone();
            tokio::spawn(async move {
                consumer
                    .consume(positions, None, |message| dispatch(&shared, message))
                    .await
            })
        };
        Ok(Self { shared, task })
    }

    /// Registers interest in `correlation_id`. Register before producing the request.
    pub fn wait(&self, correlation_id: &str) -> Waiter {
        let (sender, receiver) = oneshot::channel();
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.shared.waiters)
            .entry(correlation_id.to_owned())
            .or_default()
            .push((id, sender));
        Waiter {
            shared: self.shared.clone(),
            correlation_id: correlation_id.to_owned(),
            id,
            receiver,
        }
    }

    /// A reply already seen for `correlation_id`.
    pub fn cached(&self, correlation_id: &str) -> Option<Arc<Reply>> {
        lock(&self.shared.cache).get(correlation_id)
    }

    /// Requests waiting right now.
    pub fn waiting(&self) -> usize {
        lock(&self.shared.waiters).values().map(Vec::len).sum()
    }
}

fn dispatch(shared: &TapShared, message: &BorrowedMessage<'_>) {
    let Some(headers) = message.headers() else {
        return;
    };
    let mut correlation_id = None;
    let mut status = None;
    let mut reply_headers = Vec::with_capacity(headers.count());
    for header in headers.iter() {
        let value = header.value.unwrap_or_default();
        if header.key == shared.correlation_header {
            correlation_id = std::str::from_utf8(value).ok().map(str::to_owned);
        } else if header.key == ":status" {
            status = std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .or(Some(0));
        } else {
            reply_headers.push((header.key.to_owned(), Bytes::copy_from_slice(value)));
        }
    }
    let Some(correlation_id) = correlation_id else {
        debug!(topic = %shared.topic, offset = message.offset(), "reply without correlation id ignored");
        return;
    };
    let reply = Arc::new(Reply {
        status,
        headers: reply_headers,
        body: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
    });
    // Cache first, then wake: a request registering in between finds the reply in the cache
    // (requests register their waiter before they look in the cache).
    lock(&shared.cache).insert(correlation_id.clone(), reply.clone());
    let waiting = lock(&shared.waiters).remove(&correlation_id);
    for (_, sender) in waiting.into_iter().flatten() {
        let _ = sender.send(reply.clone());
    }
}

/// The taps of one applied configuration.
#[derive(Default)]
pub struct ReplyTaps {
    taps: Vec<(TapKey, Arc<ReplyTap>)>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct TapKey {
    cluster: usize,
    identity: super::client::ClientIdentity,
    topic: String,
    header: String,
}

impl ReplyTaps {
    /// The tap for `topic` on `cluster` matching on `header`.
    pub fn get(&self, cluster: usize, topic: &str, header: &str) -> Option<&Arc<ReplyTap>> {
        self.taps
            .iter()
            .find(|(key, _)| key.cluster == cluster && key.topic == topic && key.header == header)
            .map(|(_, tap)| tap)
    }

    /// Requests waiting on every tap.
    pub fn waiting(&self) -> usize {
        self.taps.iter().map(|(_, tap)| tap.waiting()).sum()
    }
}

/// Starts taps and keeps them across configurations that need the same reply topics.
#[derive(Default)]
pub struct TapPool {
    live: tokio::sync::Mutex<Vec<(TapKey, Arc<ReplyTap>)>>,
}

impl TapPool {
    /// The taps for `wanted` (cluster index, topic, correlation header), reusing live ones.
    pub async fn attach(
        &self,
        clusters: &[KafkaCluster],
        wanted: Vec<(usize, &str, &str)>,
    ) -> Result<ReplyTaps, ClientError> {
        let mut live = self.live.lock().await;
        let mut taps = ReplyTaps::default();
        for (cluster_index, topic, header) in wanted {
            let cluster = clusters
                .get(cluster_index)
                .ok_or(ClientError::UnknownCluster)?;
            let key = TapKey {
                cluster: cluster_index,
                identity: super::client::consumer_identity(cluster),
                topic: topic.to_owned(),
                header: header.to_owned(),
            };
            let same = |k: &TapKey| {
                k.identity == key.identity && k.topic == key.topic && k.header == key.header
            };
            let tap = match live.iter().find(|(k, _)| same(k)) {
                Some((_, tap)) => tap.clone(),
                None => Arc::new(ReplyTap::start(cluster, topic, header).await?),
            };
            taps.taps.push((key, tap));
        }
        *live = taps.taps.clone();
        Ok(taps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body: &str) -> Arc<Reply> {
        Arc::new(Reply {
            status: Some(200),
            headers: Vec::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        })
    }

    #[test]
    fn cache_keeps_the_newest_entries_within_bounds() {
        let mut cache = Cache::default();
        for i in 0..CACHE_MAX_ENTRIES + 10 {
            cache.insert(format!("id-{i}"), reply("x"));
        }
        assert_eq!(cache.replies.len(), CACHE_MAX_ENTRIES);
        assert!(cache.get("id-0").is_none());
        assert!(
            cache
                .get(&format!("id-{}", CACHE_MAX_ENTRIES + 9))
                .is_some()
        );
    }

    #[test]
    fn cache_replacing_an_id_keeps_the_byte_count_right() {
        let mut cache = Cache::default();
        cache.insert("a".to_owned(), reply("12345"));
        cache.insert("a".to_owned(), reply("12"));
        assert_eq!(cache.bytes, 2);
        assert_eq!(
            &cache.get("a").map(|r| r.body.clone()).unwrap_or_default()[..],
            b"12"
        );
    }
}
