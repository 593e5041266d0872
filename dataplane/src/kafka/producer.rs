//! Shared producers: one per (cluster, acks level) per process, created when a configuration
//! that needs it is applied, shared by every request, and kept by a later configuration with
//! the same cluster settings.
//!
//! A producer heals itself. librdkafka's idempotent producer can break for good while the
//! process goes on (fenced, or a fatal idempotence state after a broker pause), and a
//! producer can keep timing out although the cluster answers again (a broker restarted
//! without its producer state). A watchdog task per producer notices both and swaps in a
//! fresh librdkafka client, with backoff; requests in flight finish on the client they
//! started with.

use sluice_shared::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_shared::ErrorCode;
use sluice_shared::spec::Acks;
use sluice_shared::table::KafkaCluster;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::consumer::{QuietContext, SharedContext};
use super::health;
use crate::error::DataPlaneError;

/// librdkafka `linger.ms` unless the configuration sets it: small enough for latency, large
/// enough that brokers with a high per-request cost still batch.
const DEFAULT_LINGER_MS: &str = "1";
/// librdkafka `message.timeout.ms` unless the configuration sets it: how long a produce may
/// take before the client gets 503.
const DEFAULT_MESSAGE_TIMEOUT_MS: &str = "5000";
/// Extra time given to librdkafka to report its own timeout before the request gives up.
const TIMEOUT_GRACE: Duration = Duration::from_millis(500);
/// How often the watchdog looks at a producer that is not failing.
const WATCH_PERIOD: Duration = Duration::from_secs(1);
/// How long writes must have failed, with the cluster answering, before the producer is
/// taken for stuck and replaced.
const STUCK_AFTER: Duration = Duration::from_secs(1);
/// Time allowed for the watchdog's metadata request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Per-record errors after which an idempotent producer cannot go on: its producer id or
/// epoch is gone or fenced, or its sequence numbers no longer match the broker's.
const BROKEN: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::Fatal,
    RDKafkaErrorCode::ProducerFenced,
    RDKafkaErrorCode::InvalidProducerEpoch,
    RDKafkaErrorCode::InvalidProducerIdMapping,
    RDKafkaErrorCode::OutOfOrderSequenceNumber,
    RDKafkaErrorCode::UnknownProducerId,
];

/// One librdkafka producer; destroyed off the async workers (it joins threads).
struct Client {
    inner: Option<FutureProducer<SharedContext>>,
    /// Its librdkafka errors, for readiness answers.
    errors: Arc<QuietContext>,
}

impl Client {
    fn producer(&self) -> &FutureProducer<SharedContext> {
        // invariant: `inner` is `Some` until drop.
        #[allow(clippy::expect_used)]
        self.inner.as_ref().expect("producer present until drop")
    }

    fn fatal_error(&self) -> Option<String> {
        use rdkafka::producer::Producer as _;
        self.producer()
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code}: {reason}"))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn_blocking(move || drop(inner));
        }
    }
}

/// What the watchdog knows about a producer's writes.
#[derive(Default)]
struct Health {
    /// Since when writes fail without a delivery in between, and the last reason.
    failing: Option<(Instant, String)>,
    /// Why the client must be replaced at once (a fatal or fencing error, every broker
    /// down), if so: the kind for the metric, and the reason.
    broken: Option<(&'static str, String)>,
    /// When the client was last replaced, and the wait before the next replacement.
    replaced: Option<(Instant, Duration)>,
}

struct Shared {
    cluster: String,
    config: ClientConfig,
    timeout: Duration,
    client: ArcSwap<Client>,
    health: Mutex<Health>,
    /// True while `health` has no failure streak and no backoff to reset: a delivery then
    /// takes no lock.
    settled: std::sync::atomic::AtomicBool,
    wake: Notify,
}

impl Shared {
    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        // invariant: no code panics while holding the lock; recover the data if one did.
        lock(&self.health)
    }

    fn delivered(&self) {
        use std::sync::atomic::Ordering;
        if self.settled.load(Ordering::Acquire) {
            return;
        }
        let mut health = self.health();
        health.failing = None;
        health.replaced = None;
        self.settled.store(true, Ordering::Release);
    }

    fn failed(&self, reason: String) {
        let mut health = self.health();
        self.settled
            .store(false, std::sync::atomic::Ordering::Release);
        match &mut health.failing {
            Some((_, last)) => *last = reason,
            None => health.failing = Some((Instant::now(), reason)),
        }
    }

    fn broke(&self, reason: String) {
        self.health().broken.get_or_insert(("fatal", reason));
        self.wake.notify_one();
    }
}

/// A shared producer for one cluster and acks level.
pub struct Producer {
    shared: Arc<Shared>,
    watchdog: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("cluster", &self.shared.cluster)
            .field("timeout", &self.shared.timeout)
            .finish()
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(watchdog) = &self.watchdog {
            watchdog.abort();
        }
    }
}

/// One record to produce.
pub struct Record<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Key, or `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// Value, or `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// Headers.
    pub headers: OwnedHeaders,
}

impl Producer {
    /// Produces `record` and waits for the broker's acknowledgement, bounded by the
    /// producer's message timeout.
    pub async fn send(&self, record: Record<'_>) -> Result<(), DataPlaneError> {
        let mut future = FutureRecord::to(record.topic).headers(record.headers);
        if let Some(key) = record.key {
            future = future.key(key);
        }
        if let Some(value) = record.value {
            future = future.payload(value);
        }
        // The client this record goes to lives until its delivery is known, even if the
        // watchdog replaces it meanwhile.
        let client = self.shared.client.load_full();
        let delivery = client
            .producer()
            .send_result(future)
            .map_err(|(error, _)| self.failure(&client, &error, record.topic))?;
        match tokio::time::timeout(self.shared.timeout + TIMEOUT_GRACE, delivery).await {
            Ok(Ok(Ok(_))) => {
                self.shared.delivered();
                Ok(())
            }
            Ok(Ok(Err((error, _)))) => Err(self.failure(&client, &error, record.topic)),
            Ok(Err(_canceled)) => Err(DataPlaneError::Kafka {
                code: ErrorCode::KafkaUnavailable,
                message: "the kafka producer was replaced before the broker answered".to_owned(),
            }),
            Err(_elapsed) => {
                let message = format!(
                    "kafka did not acknowledge the record on topic '{}' within {} ms",
                    record.topic,
                    self.shared.timeout.as_millis()
                );
                self.shared.failed(message.clone());
                Err(DataPlaneError::Kafka {
                    code: ErrorCode::KafkaUnavailable,
                    message,
                })
            }
        }
    }

    /// What the client is told about `error`; records it in the producer's health.
    fn failure(&self, client: &Client, error: &KafkaError, topic: &str) -> DataPlaneError {
        let code = error.rdkafka_error_code();
        let fatal = client.fatal_error();
        if fatal.is_some() || code.is_some_and(|code| BROKEN.contains(&code)) {
            let reason = fatal.unwrap_or_else(|| error.to_string());
            self.shared.broke(reason.clone());
            return DataPlaneError::Kafka {
                code: ErrorCode::KafkaUnavailable,
                message: format!(
                    "the kafka producer for topic '{topic}' broke ({reason}); a new one is being made, retry"
                ),
            };
        }
        let mapped = super::client::map_error(error, topic);
        if mapped.code() == ErrorCode::KafkaUnavailable {
            self.shared.failed(mapped.to_string());
        }
        mapped
    }

    /// Asks the cluster for its metadata (blocking: call from `spawn_blocking`).
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        probe(&self.shared.client.load(), timeout)
    }

    /// `Err` with the reason while this producer cannot take writes: it broke and is not
    /// replaced yet, or its last writes failed and none was delivered since.
    pub fn writable(&self) -> Result<(), String> {
        let problem = {
            let health = self.shared.health();
            if let Some((_, reason)) = &health.broken {
                format!("the producer broke: {reason}")
            } else if let Some((since, reason)) = &health.failing {
                format!(
                    "writes have failed for {:.1} s: {reason}",
                    since.elapsed().as_secs_f64()
                )
            } else {
                return Ok(());
            }
        };
        // The client's own last error says why (a refused TLS handshake or SASL exchange).
        match self.shared.client.load().errors.recent_error() {
            Some(recent) => Err(format!("{problem}; last client error: {recent}")),
            None => Err(problem),
        }
    }
}

fn probe(client: &Client, timeout: Duration) -> Result<(), String> {
    use rdkafka::producer::Producer as _;
    client
        .producer()
        .client()
        .fetch_metadata(None, timeout)
        .map(|_| ())
        .map_err(|e| client.errors.explain(&e))
}

/// Watches one producer; replaces its client when it broke, or when its writes keep
/// failing although the cluster answers.
async fn watch(shared: Arc<Shared>) {
    loop {
        let _ = tokio::time::timeout(WATCH_PERIOD, shared.wake.notified()).await;
        let client = shared.client.load_full();
        if let Some(fatal) = client.fatal_error() {
            shared.health().broken.get_or_insert(("fatal", fatal));
        }
        // Every broker went down: a fresh client holds no metadata from before, so a
        // broker that comes back without its topics (recreated under new topic ids) cannot
        // trip librdkafka's metadata cache, and a producer id the broker forgot is not used.
        if client.errors.take_brokers_down() {
            shared
                .health()
                .broken
                .get_or_insert_with(|| ("disconnected", "every broker was down".to_owned()));
        }
        let (broken, stuck, wait) = {
            let health = shared.health();
            let stuck = health
                .failing
                .as_ref()
                .filter(|(since, _)| since.elapsed() >= STUCK_AFTER)
                .map(|(_, reason)| reason.clone());
            let wait = health
                .replaced
                .map(|(at, backoff)| backoff.saturating_sub(at.elapsed()))
                .unwrap_or_default();
            (health.broken.clone(), stuck, wait)
        };
        let (kind, reason) = match (broken, stuck) {
            (Some((kind, reason)), _) => (kind, reason),
            (None, Some(reason)) => {
                // Writes fail: replace the client only if the cluster answers, otherwise
                // the cluster is down and a new client would fail the same way.
                let probed = client.clone();
                let answered = tokio::task::spawn_blocking(move || probe(&probed, PROBE_TIMEOUT))
                    .await
                    .is_ok_and(|answer| answer.is_ok());
                if !answered {
                    continue;
                }
                ("stuck", reason)
            }
            (None, None) => continue,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        replace(&shared, kind, &reason);
    }
}

fn replace(shared: &Shared, kind: &'static str, reason: &str) {
    let fresh = match create_client(&shared.config, &shared.cluster) {
        Ok(fresh) => fresh,
        Err(error) => {
            tracing::error!(cluster = %shared.cluster, error = %error, "cannot create a kafka producer");
            let mut health = shared.health();
            let backoff = health.replaced.map_or(health::FIRST_BACKOFF, |(_, b)| b);
            health.replaced = Some((Instant::now(), health::next_backoff(backoff)));
            shared
                .settled
                .store(false, std::sync::atomic::Ordering::Release);
            return;
        }
    };
    tracing::error!(
        cluster = %shared.cluster,
        client = "producer",
        kind,
        reason,
        "kafka producer broke; replaced it with a new one"
    );
    health::count_replacement(&shared.cluster, "producer", kind);
    shared.client.store(Arc::new(fresh));
    let mut health = shared.health();
    let backoff = health
        .replaced
        .map_or(health::FIRST_BACKOFF, |(_, b)| health::next_backoff(b));
    *health = Health {
        failing: None,
        broken: None,
        replaced: Some((Instant::now(), backoff)),
    };
    shared
        .settled
        .store(false, std::sync::atomic::Ordering::Release);
}

fn create_client(config: &ClientConfig, cluster: &str) -> Result<Client, String> {
    let errors = Arc::new(QuietContext::new());
    let inner: FutureProducer<SharedContext> = config
        .create_with_context(SharedContext(errors.clone()))
        .map_err(|e| format!("kafka client '{cluster}': {e}"))?;
    Ok(Client {
        inner: Some(inner),
        errors,
    })
}

/// Creates a producer for `cluster` at `acks`, and its watchdog when a runtime runs.
pub(super) fn create(cluster: &KafkaCluster, acks: Acks) -> Result<Producer, String> {
    if cluster.servers.is_empty() {
        return Err(format!(
            "kafka client '{}' has no servers and no embedded broker was started",
            cluster.binding
        ));
    }
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", cluster.servers.join(","))
        .set("client.id", "sluice")
        .set("acks", acks.as_kafka())
        .set("linger.ms", DEFAULT_LINGER_MS)
        .set("message.timeout.ms", DEFAULT_MESSAGE_TIMEOUT_MS)
        .set("socket.nagle.disable", "true");
    if acks == Acks::InSyncReplicas {
        // No duplicates from internal retries; needs acks=all.
        config.set("enable.idempotence", "true");
    }
    for (key, value) in cluster.producer_properties() {
        config.set(key, value);
    }
    let timeout_ms: u64 = config
        .get("message.timeout.ms")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            format!(
                "kafka client '{}': message.timeout.ms must be a number",
                cluster.binding
            )
        })?;
    let client = create_client(&config, &cluster.binding)?;
    let shared = Arc::new(Shared {
        cluster: cluster.binding.clone(),
        config,
        timeout: Duration::from_millis(timeout_ms),
        client: ArcSwap::from_pointee(client),
        health: Mutex::default(),
        settled: std::sync::atomic::AtomicBool::new(true),
        wake: Notify::new(),
    });
    let watchdog = tokio::runtime::Handle::try_current()
        .ok()
        .map(|runtime| runtime.spawn(watch(shared.clone())));
    Ok(Producer { shared, watchdog })
}
