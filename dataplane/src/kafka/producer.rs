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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::FutureRecord;
use sluice_shared::ErrorCode;
use sluice_shared::spec::Acks;
use sluice_shared::table::KafkaCluster;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::client::ClientError;
use super::marks::WriteMarks;
use super::watchdog::{BROKEN, Client, Shared, create_client, probe, watch};
use crate::error::DataPlaneError;

/// librdkafka `linger.ms` unless the configuration sets it: small enough for latency, large
/// enough that brokers with a high per-request cost still batch.
const DEFAULT_LINGER_MS: &str = "1";

/// librdkafka `message.timeout.ms` unless the configuration sets it: how long a produce may
/// take before the client gets 503.
const DEFAULT_MESSAGE_TIMEOUT_MS: &str = "5000";

/// Extra time given to librdkafka to report its own timeout before the request gives up.
const TIMEOUT_GRACE: Duration = Duration::from_millis(500);

/// A shared producer for one cluster and acks level.
pub struct Producer {
    shared: Arc<Shared>,
    watchdog: Option<JoinHandle<()>>,
    /// The cluster's bootstrap servers, naming it in `marks`.
    servers: Vec<String>,
    /// Where acknowledged writes are recorded, for read-your-writes.
    marks: Arc<WriteMarks>,
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
    pub async fn send(&self, record: Record<'_>) -> Result<(i32, i64), DataPlaneError> {
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
            Ok(Ok(Ok(delivery))) => {
                self.shared.delivered();
                self.marks.record(
                    &self.servers,
                    record.topic,
                    delivery.partition,
                    delivery.offset,
                );
                Ok((delivery.partition, delivery.offset))
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
    pub fn probe(&self, timeout: Duration) -> Result<(), ClientError> {
        probe(&self.shared.client.load(), timeout)
    }

    /// `Err` with the reason while this producer cannot take writes: it broke and is not
    /// replaced yet, or its last writes failed and none was delivered since.
    pub fn writable(&self) -> Result<(), ClientError> {
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
            Some(recent) => Err(ClientError::Unwritable(format!(
                "{problem}; last client error: {recent}"
            ))),
            None => Err(ClientError::Unwritable(problem)),
        }
    }
}

/// Creates a producer for `cluster` at `acks` that records its writes in `marks`, and its
/// watchdog when a runtime runs.
pub(super) fn create(
    cluster: &KafkaCluster,
    acks: Acks,
    marks: Arc<WriteMarks>,
) -> Result<Producer, ClientError> {
    if cluster.servers.is_empty() {
        return Err(ClientError::NoServers(cluster.binding.clone()));
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
        .ok_or_else(|| ClientError::Settings {
            binding: cluster.binding.clone(),
            reason: "message.timeout.ms must be a number".to_owned(),
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
    Ok(Producer {
        shared,
        watchdog,
        servers: cluster.servers.clone(),
        marks,
    })
}
