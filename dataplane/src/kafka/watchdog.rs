//! What keeps a producer healthy: its current librdkafka client (swapped whole), the
//! health of its writes, and the watchdog task that replaces a client that broke.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rdkafka::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::FutureProducer;
use sluice_shared::sync::lock;
use tokio::sync::Notify;

use super::client::ClientError;
use super::context::{QuietContext, SharedContext};
use super::health;

/// How often the watchdog looks at a producer that is not failing.
const WATCH_PERIOD: Duration = Duration::from_secs(1);

/// How long writes must have failed, with the cluster answering, before the producer is
/// taken for stuck and replaced.
const STUCK_AFTER: Duration = Duration::from_secs(1);

/// Time allowed for the watchdog's metadata request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Per-record errors after which an idempotent producer cannot go on: its producer id or
/// epoch is gone or fenced, or its sequence numbers no longer match the broker's.
pub(crate) const BROKEN: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::Fatal,
    RDKafkaErrorCode::ProducerFenced,
    RDKafkaErrorCode::InvalidProducerEpoch,
    RDKafkaErrorCode::InvalidProducerIdMapping,
    RDKafkaErrorCode::OutOfOrderSequenceNumber,
    RDKafkaErrorCode::UnknownProducerId,
];

/// One librdkafka producer; destroyed off the async workers (it joins threads).
pub(crate) struct Client {
    pub(super) inner: Option<FutureProducer<SharedContext>>,
    /// Its librdkafka errors, for readiness answers.
    pub(super) errors: Arc<QuietContext>,
}

impl Client {
    pub(super) fn producer(&self) -> &FutureProducer<SharedContext> {
        // invariant: `inner` is `Some` until drop.
        #[allow(clippy::expect_used)]
        self.inner.as_ref().expect("producer present until drop")
    }

    pub(super) fn fatal_error(&self) -> Option<String> {
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
pub(crate) struct Health {
    /// Since when writes fail without a delivery in between, and the last reason.
    pub(super) failing: Option<(Instant, String)>,
    /// Why the client must be replaced at once (a fatal or fencing error, every broker
    /// down), if so: the kind for the metric, and the reason.
    pub(super) broken: Option<(&'static str, String)>,
    /// When the client was last replaced, and the wait before the next replacement.
    pub(super) replaced: Option<(Instant, Duration)>,
}

pub(crate) struct Shared {
    pub(super) cluster: String,
    pub(super) config: ClientConfig,
    pub(super) timeout: Duration,
    pub(super) client: ArcSwap<Client>,
    pub(super) health: Mutex<Health>,
    /// True while `health` has no failure streak and no backoff to reset: a delivery then
    /// takes no lock.
    pub(super) settled: std::sync::atomic::AtomicBool,
    pub(super) wake: Notify,
}

impl Shared {
    pub(super) fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        // invariant: no code panics while holding the lock; recover the data if one did.
        lock(&self.health)
    }

    pub(super) fn delivered(&self) {
        use std::sync::atomic::Ordering;
        if self.settled.load(Ordering::Acquire) {
            return;
        }
        let mut health = self.health();
        health.failing = None;
        health.replaced = None;
        self.settled.store(true, Ordering::Release);
    }

    pub(super) fn failed(&self, reason: String) {
        let mut health = self.health();
        self.settled
            .store(false, std::sync::atomic::Ordering::Release);
        match &mut health.failing {
            Some((_, last)) => *last = reason,
            None => health.failing = Some((Instant::now(), reason)),
        }
    }

    pub(super) fn broke(&self, reason: String) {
        self.health().broken.get_or_insert(("fatal", reason));
        self.wake.notify_one();
    }
}

pub(crate) fn probe(client: &Client, timeout: Duration) -> Result<(), ClientError> {
    use rdkafka::producer::Producer as _;
    client
        .producer()
        .client()
        .fetch_metadata(None, timeout)
        .map(|_| ())
        .map_err(|e| ClientError::Cluster(client.errors.explain(&e)))
}

/// Watches one producer; replaces its client when it broke, or when its writes keep
/// failing although the cluster answers.
pub(crate) async fn watch(shared: Arc<Shared>) {
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

pub(crate) fn create_client(config: &ClientConfig, cluster: &str) -> Result<Client, ClientError> {
    let errors = Arc::new(QuietContext::new());
    let inner: FutureProducer<SharedContext> = config
        .create_with_context(SharedContext(errors.clone()))
        .map_err(|e| ClientError::Settings {
            binding: cluster.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Client {
        inner: Some(inner),
        errors,
    })
}
