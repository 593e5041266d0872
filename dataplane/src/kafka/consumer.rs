//! Consumers shared by every request on one topic (reply taps, topic caches).

use sluice_shared::sync::lock;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_shared::table::KafkaCluster;

/// Logs librdkafka's errors through tracing, leaving out the partition-EOF events the shared
/// consumers ask for (they mean "caught up", not trouble); keeps the consumer lag of the
/// last statistics report.
pub(crate) struct QuietContext {
    /// Summed over partitions; -1 until known.
    lag: std::sync::atomic::AtomicI64,
    /// librdkafka reported every broker down since this was last taken.
    brokers_down: std::sync::atomic::AtomicBool,
    /// The last error librdkafka reported, and when.
    last_error: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

/// How long a client error stays in readiness answers.
const RECENT_ERROR: Duration = Duration::from_secs(60);

impl QuietContext {
    pub(crate) fn new() -> Self {
        Self {
            lag: std::sync::atomic::AtomicI64::new(-1),
            brokers_down: std::sync::atomic::AtomicBool::new(false),
            last_error: std::sync::Mutex::new(None),
        }
    }

    /// The last error librdkafka reported in the last minute (an authentication or TLS
    /// failure, an unreachable broker), for readiness answers.
    pub(crate) fn recent_error(&self) -> Option<String> {
        let last = lock(&self.last_error);
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < RECENT_ERROR)
            .map(|(_, message)| message.clone())
    }

    /// `error` from a probe, with the client's recent error when there is one.
    pub(crate) fn explain(&self, error: &KafkaError) -> String {
        match self.recent_error() {
            Some(recent) => format!("{error}; last client error: {recent}"),
            None => error.to_string(),
        }
    }

    /// Whether librdkafka reported every broker down since the last call.
    pub(crate) fn take_brokers_down(&self) -> bool {
        self.brokers_down
            .swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    /// The consumer lag of the last statistics report.
    pub(crate) fn lag(&self) -> Option<i64> {
        let lag = self.lag.load(std::sync::atomic::Ordering::Relaxed);
        (lag >= 0).then_some(lag)
    }
}

impl ClientContext for QuietContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(error = %error, reason, "kafka client error");
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.brokers_down
                .store(true, std::sync::atomic::Ordering::Release);
        }
        {
            let mut last = lock(&self.last_error);
            // "All brokers are down" follows the error that says why (a refused TLS
            // handshake or SASL exchange): keep that one.
            let summary = error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
            let recent = last
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < RECENT_ERROR);
            if !(summary && recent) {
                *last = Some((std::time::Instant::now(), reason.to_owned()));
            }
        }
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        // The shared consumers commit nothing, so librdkafka's own `consumer_lag` (against
        // the committed offset) means nothing here: the lag is the partition end minus the
        // offset after the last record handed to Sluice. Partition -1 is librdkafka's
        // internal "unassigned" partition; negative offsets are unknown.
        let lags = statistics
            .topics
            .values()
            .flat_map(|topic| topic.partitions.values())
            .filter(|p| p.partition >= 0 && p.hi_offset >= 0 && p.app_offset >= 0)
            .map(|p| (p.hi_offset - p.app_offset).max(0));
        let (mut sum, mut known) = (0i64, false);
        for lag in lags {
            sum = sum.saturating_add(lag);
            known = true;
        }
        if known {
            self.lag.store(sum, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl ConsumerContext for QuietContext {}

/// A [`QuietContext`] the client's owner keeps a handle on (producers).
pub(crate) struct SharedContext(pub(crate) Arc<QuietContext>);

impl ClientContext for SharedContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0.error(error, reason);
    }
}

/// The consumer type of reply taps, topic caches and feeds.
pub(crate) type SharedConsumer = StreamConsumer<QuietContext>;

/// How often librdkafka reports the statistics the consumer lag metric comes from.
const STATISTICS_INTERVAL_MS: &str = "5000";

/// Time allowed for metadata and offset lookups when a shared consumer starts.
const CONSUMER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A consumer shared by every request on one topic: its own group id, no commits, the
/// cluster's properties applied over Sluice's defaults.
pub(crate) fn shared_consumer(
    cluster: &KafkaCluster,
    purpose: &str,
    partition_eof: bool,
) -> Result<Arc<SharedConsumer>, String> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", cluster.servers.join(","))
        .set(
            "group.id",
            format!("sluice-{purpose}-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("client.id", format!("sluice-{purpose}"))
        .set("enable.auto.commit", "false")
        .set(
            "enable.partition.eof",
            if partition_eof { "true" } else { "false" },
        )
        .set("fetch.wait.max.ms", "100")
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
        .set("socket.nagle.disable", "true");
    super::client::set_consumer_properties(&mut config, cluster);
    config
        .create_with_context(QuietContext::new())
        .map(Arc::new)
        .map_err(|e: KafkaError| e.to_string())
}

/// The partitions of `topic` (blocking: call from `spawn_blocking`).
pub(crate) fn topic_partitions(consumer: &SharedConsumer, topic: &str) -> Result<Vec<i32>, String> {
    use rdkafka::consumer::Consumer;
    let metadata = consumer
        .fetch_metadata(Some(topic), CONSUMER_START_TIMEOUT)
        .map_err(|e| consumer.context().explain(&e))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err("the topic does not exist on the kafka cluster".to_owned());
    }
    Ok(partitions)
}

/// Assigns `consumer` to every partition of `topic`, at its current end or its beginning;
/// returns the positions assigned.
pub(crate) async fn assign_topic(
    consumer: &Arc<SharedConsumer>,
    topic: &str,
    at_end: bool,
) -> Result<Vec<(i32, rdkafka::Offset)>, String> {
    use rdkafka::Offset;
    use rdkafka::consumer::Consumer;
    let (blocking, name) = (consumer.clone(), topic.to_owned());
    let positions = tokio::task::spawn_blocking(move || {
        let partitions = topic_partitions(&blocking, &name)?;
        let mut positions = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let offset = if at_end {
                let (_, high) = blocking
                    .fetch_watermarks(&name, partition, CONSUMER_START_TIMEOUT)
                    .map_err(|e| e.to_string())?;
                Offset::Offset(high)
            } else {
                Offset::Beginning
            };
            positions.push((partition, offset));
        }
        Ok::<_, String>(positions)
    })
    .await
    .map_err(|e| e.to_string())??;
    assign(consumer, topic, &positions)?;
    Ok(positions)
}

fn assign(
    consumer: &SharedConsumer,
    topic: &str,
    positions: &[(i32, rdkafka::Offset)],
) -> Result<(), String> {
    use rdkafka::consumer::Consumer;
    let mut assignment = rdkafka::TopicPartitionList::new();
    for (partition, offset) in positions {
        assignment
            .add_partition_offset(topic, *partition, *offset)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&assignment).map_err(|e| e.to_string())
}

/// A shared consumer of one topic that replaces its librdkafka client when that reports a
/// fatal error, going on from the offsets it had reached.
pub(crate) struct Supervised {
    cluster: KafkaCluster,
    purpose: &'static str,
    partition_eof: bool,
    topic: String,
    current: arc_swap::ArcSwap<SharedConsumer>,
}

impl Supervised {
    /// Starts a consumer of `topic` at its end or beginning; returns it and the positions.
    pub(crate) async fn start(
        cluster: &KafkaCluster,
        topic: &str,
        purpose: &'static str,
        partition_eof: bool,
        at_end: bool,
    ) -> Result<(Arc<Self>, Vec<(i32, rdkafka::Offset)>), String> {
        let consumer = shared_consumer(cluster, purpose, partition_eof)?;
        let positions = assign_topic(&consumer, topic, at_end).await?;
        let supervised = Arc::new(Self {
            cluster: cluster.clone(),
            purpose,
            partition_eof,
            topic: topic.to_owned(),
            current: arc_swap::ArcSwap::new(consumer),
        });
        Ok((supervised, positions))
    }

    /// The librdkafka consumer in use now.
    pub(crate) fn current(&self) -> Arc<SharedConsumer> {
        self.current.load_full()
    }

    /// Feeds every record to `on_record`, forever; marks `catch_up` once every partition in
    /// `partitions` reported its end (librdkafka partition EOF, which comes from fetch
    /// responses and so is right even where ListOffsets is not). A consumer that reports a
    /// fatal error is replaced, with backoff, at the offsets after the last records seen.
    pub(crate) async fn consume(
        &self,
        mut positions: Vec<(i32, rdkafka::Offset)>,
        catch_up: Option<&CatchUp>,
        on_record: impl Fn(&rdkafka::message::BorrowedMessage<'_>),
    ) {
        use rdkafka::Message;
        let topic = self.topic.as_str();
        let mut waiting: Vec<i32> = match catch_up {
            Some(_) => positions.iter().map(|(p, _)| *p).collect(),
            None => Vec::new(),
        };
        let mut backoff = super::health::FIRST_BACKOFF;
        loop {
            let consumer = self.current();
            match consumer.recv().await {
                Ok(message) => {
                    let (partition, next) = (message.partition(), message.offset() + 1);
                    if let Some(position) = positions.iter_mut().find(|(p, _)| *p == partition) {
                        position.1 = rdkafka::Offset::Offset(next);
                    }
                    on_record(&message);
                    backoff = super::health::FIRST_BACKOFF;
                }
                Err(KafkaError::PartitionEOF(partition)) => {
                    if !waiting.is_empty() {
                        waiting.retain(|p| *p != partition);
                        if waiting.is_empty()
                            && let Some(catch_up) = catch_up
                        {
                            tracing::info!(topic, "shared consumer caught up");
                            catch_up.0.send_replace(true);
                        }
                    }
                }
                Err(error) => {
                    let broken = broken(&consumer, &error);
                    match broken {
                        Some((kind, reason)) => {
                            tokio::time::sleep(backoff).await;
                            backoff = super::health::next_backoff(backoff);
                            self.replace(&positions, kind, &reason);
                        }
                        None => {
                            tracing::warn!(topic, error = %error, "shared consumer error");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
        }
    }

    fn replace(&self, positions: &[(i32, rdkafka::Offset)], kind: &'static str, reason: &str) {
        let fresh = shared_consumer(&self.cluster, self.purpose, self.partition_eof)
            .and_then(|fresh| assign(&fresh, &self.topic, positions).map(|()| fresh));
        match fresh {
            Ok(fresh) => {
                tracing::error!(
                    cluster = %self.cluster.binding,
                    client = self.purpose,
                    topic = %self.topic,
                    kind,
                    reason,
                    "kafka consumer broke; replaced it with a new one at the same offsets"
                );
                super::health::count_replacement(&self.cluster.binding, self.purpose, kind);
                let old = self.current.swap(fresh);
                // Dropping a client joins its threads: not on an async worker.
                tokio::task::spawn_blocking(move || drop(old));
            }
            Err(error) => tracing::error!(
                cluster = %self.cluster.binding,
                client = self.purpose,
                topic = %self.topic,
                error = %error,
                "kafka consumer broke and cannot be replaced yet"
            ),
        }
    }
}

/// Whether a shared consumer has read the history its topic had when it started.
pub(crate) struct CatchUp(tokio::sync::watch::Sender<bool>);

impl CatchUp {
    pub(crate) fn new() -> Self {
        Self(tokio::sync::watch::Sender::new(false))
    }

    /// Waits until caught up, up to `timeout`.
    pub(crate) async fn ready(&self, timeout: Duration) -> bool {
        if *self.0.borrow() {
            return true;
        }
        let mut caught_up = self.0.subscribe();
        tokio::time::timeout(timeout, caught_up.wait_for(|ready| *ready))
            .await
            .is_ok_and(|result| result.is_ok())
    }
}

/// A record's headers, copied.
pub(crate) fn headers_of(
    message: &rdkafka::message::BorrowedMessage<'_>,
) -> Vec<(String, bytes::Bytes)> {
    use rdkafka::message::{Headers, Message};
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        bytes::Bytes::copy_from_slice(h.value.unwrap_or_default()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

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
        start: impl AsyncFn(&KafkaCluster, &str) -> Result<T, String>,
    ) -> Result<TopicSet<T>, String> {
        let mut live = self.live.lock().await;
        let mut set = TopicSet::default();
        let mut next = Vec::new();
        for (index, topic) in wanted {
            let cluster = clusters
                .get(index)
                .ok_or("a route names an unknown cluster")?;
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
    ) -> Result<Self, String> {
        let context = |error: String| format!("{purpose} of topic '{topic}': {error}");
        let (consumer, positions) = Supervised::start(cluster, topic, purpose, true, false)
            .await
            .map_err(context)?;
        let max_bytes = usize::try_from(cluster.cache_max_bytes).unwrap_or(usize::MAX);
        let shared = Arc::new(ViewShared {
            consumer,
            state: std::sync::RwLock::new(state),
            version: tokio::sync::watch::Sender::new(0),
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

    /// Records between the consumer's position and the partition ends, from librdkafka's
    /// last statistics report; `None` before the first report.
    pub fn lag(&self) -> Option<i64> {
        use rdkafka::consumer::Consumer;
        self.shared.consumer.current().context().lag()
    }

    /// Asks the cluster for its metadata (blocking: call from `spawn_blocking`).
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        use rdkafka::consumer::Consumer;
        let consumer = self.shared.consumer.current();
        consumer
            .fetch_metadata(None, timeout)
            .map(|_| ())
            .map_err(|e| consumer.context().explain(&e))
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

/// Whether `error` from `consumer` means the client must be replaced, and why: a fatal
/// error; the topic gone (deleted, or a broker that lost it: a fresh client never sees it
/// come back under another topic id, which librdkafka's metadata cache can crash on); or
/// every broker down (a fresh client holds no metadata from before, so a broker that comes
/// back without its topics cannot trip the old cache).
fn broken(consumer: &SharedConsumer, error: &KafkaError) -> Option<(&'static str, String)> {
    use rdkafka::consumer::Consumer;
    if let Some((code, reason)) = consumer.client().fatal_error() {
        return Some(("fatal", format!("{code}: {reason}")));
    }
    let topic_gone = error.rdkafka_error_code().is_some_and(|code| {
        matches!(
            code,
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::UnknownTopic
        )
    });
    if topic_gone {
        return Some(("topic_gone", error.to_string()));
    }
    if consumer.context().take_brokers_down() {
        return Some(("disconnected", error.to_string()));
    }
    None
}
