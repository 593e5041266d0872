//! One shared consumer client per topic set: [`TopicPool`] keeps them across configurations,
//! [`TopicSet`] is a configuration's, [`TopicView`] one topic's state folded from records.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::Message;
use sluice_shared::table::KafkaCluster;

use super::client::ClientError;
use super::consumer::{CatchUp, Supervised};

/// The per-topic clients (caches or feeds) of one applied configuration.
pub struct TopicSet<T> {
    entries: Vec<(usize, String, Arc<T>)>,
}

impl<T> Default for TopicSet<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<T> TopicSet<T> {
    /// Every (cluster, topic, client).
    pub fn iter(&self) -> impl Iterator<Item = (usize, &str, &Arc<T>)> {
        self.entries
            .iter()
            .map(|(cluster, topic, client)| (*cluster, topic.as_str(), client))
    }

    /// The client of `topic` on cluster `cluster`.
    pub fn get(&self, cluster: usize, topic: &str) -> Option<&Arc<T>> {
        self.entries
            .iter()
            .find(|(c, t, _)| *c == cluster && t == topic)
            .map(|(_, _, client)| client)
    }
}

/// A running per-topic client with the cluster settings and topic it reads.
type Live<T> = (super::client::ClientIdentity, String, Arc<T>);

/// Starts per-topic clients and keeps them across configurations that need the same
/// (cluster settings, topic); the ones no longer needed stop when their last user lets go.
pub struct TopicPool<T> {
    live: tokio::sync::Mutex<Vec<Live<T>>>,
}

impl<T> Default for TopicPool<T> {
    fn default() -> Self {
        Self {
            live: tokio::sync::Mutex::default(),
        }
    }
}

impl<T> TopicPool<T> {
    /// The clients for `wanted` (cluster index, topic), started with `start` when new.
    pub async fn attach(
        &self,
        clusters: &[KafkaCluster],
        wanted: Vec<(usize, &str)>,
        start: impl AsyncFn(&KafkaCluster, &str) -> Result<T, ClientError>,
    ) -> Result<TopicSet<T>, ClientError> {
        let mut live = self.live.lock().await;
        let mut set = TopicSet::default();
        let mut next = Vec::new();
        for (index, topic) in wanted {
            let cluster = clusters.get(index).ok_or(ClientError::UnknownCluster)?;
            let identity = super::client::consumer_identity(cluster);
            let client = match live.iter().find(|(i, t, _)| *i == identity && t == topic) {
                Some((_, _, client)) => client.clone(),
                None => Arc::new(start(cluster, topic).await?),
            };
            next.push((identity, topic.to_owned(), client.clone()));
            set.entries.push((index, topic.to_owned(), client));
        }
        *live = next;
        Ok(set)
    }
}

/// State built from a whole topic by one shared consumer (a topic cache or an SSE feed):
/// read from the beginning, caught-up tracking, and a version bumped on every change.
pub struct TopicView<S> {
    shared: Arc<ViewShared<S>>,
    task: tokio::task::JoinHandle<()>,
}

struct ViewShared<S> {
    consumer: Arc<Supervised>,
    state: std::sync::RwLock<S>,
    version: tokio::sync::watch::Sender<u64>,
    /// Next offset to read, per partition read so far.
    progress: tokio::sync::watch::Sender<Vec<(i32, i64)>>,
    /// The newest version of a growing set of marks that `progress` was seen to pass (see
    /// [`TopicView::passed_at`]).
    passed_version: std::sync::atomic::AtomicU64,
    catch_up: CatchUp,
}

impl<S> Drop for TopicView<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Folds one record into a view's state, within `max_bytes`; false when nothing changed.
pub(crate) type Fold<S> = fn(&mut S, &rdkafka::message::BorrowedMessage<'_>, usize) -> bool;

impl<S: Send + Sync + 'static> TopicView<S> {
    /// Starts reading every partition of `topic` from the beginning into `state`.
    pub(crate) async fn start(
        cluster: &KafkaCluster,
        topic: &str,
        purpose: &'static str,
        state: S,
        fold: Fold<S>,
    ) -> Result<Self, ClientError> {
        let context = |error: ClientError| ClientError::Topic {
            what: format!("{purpose} of topic '{topic}'"),
            source: Box::new(error),
        };
        let (consumer, positions) = Supervised::start(cluster, topic, purpose, true, false)
            .await
            .map_err(context)?;
        let max_bytes = usize::try_from(cluster.cache_max_bytes).unwrap_or(usize::MAX);
        let shared = Arc::new(ViewShared {
            consumer,
            state: std::sync::RwLock::new(state),
            version: tokio::sync::watch::Sender::new(0),
            progress: tokio::sync::watch::Sender::new(Vec::new()),
            passed_version: std::sync::atomic::AtomicU64::new(0),
            catch_up: CatchUp::new(),
        });
        let task = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let on_record = |message: &rdkafka::message::BorrowedMessage<'_>| {
                    let changed = {
                        let mut state = shared
                            .state
                            .write()
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                        fold(&mut state, message, max_bytes)
                    };
                    if changed {
                        shared.version.send_modify(|version| *version += 1);
                    }
                    let (partition, next) = (message.partition(), message.offset() + 1);
                    shared.progress.send_modify(|progress| {
                        match progress.iter_mut().find(|(p, _)| *p == partition) {
                            Some((_, at)) => *at = (*at).max(next),
                            None => progress.push((partition, next)),
                        }
                    });
                };
                shared
                    .consumer
                    .consume(positions, Some(&shared.catch_up), on_record)
                    .await
            })
        };
        Ok(Self { shared, task })
    }

    /// Waits until the view read the history the topic had when it started, up to `timeout`.
    pub async fn ready(&self, timeout: Duration) -> bool {
        self.shared.catch_up.ready(timeout).await
    }

    /// Whether the view's positions (next offset per partition) pass `check` now; no
    /// allocation, no waiting.
    pub fn passed(&self, check: impl FnOnce(&[(i32, i64)]) -> bool) -> bool {
        check(&self.shared.progress.borrow())
    }

    /// [`passed`](Self::passed) for marks that only grow, at `version` of them (0: none yet):
    /// positions only grow too, so once they passed a version they pass it for good, and
    /// `check` runs again only when the version moved.
    pub fn passed_at(&self, version: u64, check: impl FnOnce(&[(i32, i64)]) -> bool) -> bool {
        use std::sync::atomic::Ordering;
        if self.shared.passed_version.load(Ordering::Acquire) >= version {
            return true;
        }
        let passed = self.passed(check);
        if passed {
            self.shared
                .passed_version
                .fetch_max(version, Ordering::AcqRel);
        }
        passed
    }

    /// Waits until the view read past every mark (partition, offset), up to `timeout`.
    pub async fn reached(&self, marks: &[(i32, i64)], timeout: Duration) -> bool {
        if marks.is_empty() {
            return true;
        }
        let mut progress = self.shared.progress.subscribe();
        tokio::time::timeout(
            timeout,
            progress.wait_for(|positions| super::marks::passed(marks, positions)),
        )
        .await
        .is_ok_and(|result| result.is_ok())
    }

    /// Records between the consumer's position and the partition ends, from librdkafka's
    /// last statistics report; `None` before the first report.
    pub fn lag(&self) -> Option<i64> {
        use rdkafka::consumer::Consumer;
        self.shared.consumer.current().context().lag()
    }

    /// Asks the cluster for its metadata (blocking: call from `spawn_blocking`).
    pub fn probe(&self, timeout: Duration) -> Result<(), ClientError> {
        use rdkafka::consumer::Consumer;
        let consumer = self.shared.consumer.current();
        consumer
            .fetch_metadata(None, timeout)
            .map(|_| ())
            .map_err(|e| ClientError::Cluster(consumer.context().explain(&e)))
    }

    /// A receiver that sees every change after this call.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.version.subscribe()
    }

    /// The current state; never hold it across an await.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, S> {
        // invariant: no code panics while holding the lock; recover the data if one did.
        self.shared
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
