//! Shared Kafka clients.
//!
//! - Producers (this file): one per (cluster, acks level) per process, created when a
//!   configuration that needs it is applied, shared by every request, and kept by a later
//!   configuration with the same cluster settings.
//! - [`reply`]: one reply tap per reply topic, dispatching replies by correlation id.
//! - [`cache`]: one topic cache per fetched topic, the latest record per key.
//! - [`feed`]: one feed per streamed topic, a bounded window of records for SSE streams.
//! - `consumer`: the setup those share.
//! - [`embedded`]: the in-process development broker.

pub mod cache;
mod consumer;
pub mod embedded;
pub mod feed;
pub mod reply;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_shared::ErrorCode;
use sluice_shared::spec::Acks;
use sluice_shared::table::KafkaCluster;

#[cfg(test)]
use indexmap::IndexMap;

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
    inner: FutureProducer<consumer::SharedContext>,
    /// The producer's librdkafka errors, for readiness answers.
    errors: Arc<consumer::QuietContext>,
    timeout: Duration,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("timeout", &self.timeout)
            .finish()
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
        let delivery = self
            .inner
            .send_result(future)
            .map_err(|(error, _)| map_error(&error, record.topic))?;
        match tokio::time::timeout(self.timeout + TIMEOUT_GRACE, delivery).await {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err((error, _)))) => Err(map_error(&error, record.topic)),
            Ok(Err(_canceled)) => Err(DataPlaneError::Internal(
                "the producer was dropped before delivery".to_owned(),
            )),
            Err(_elapsed) => Err(DataPlaneError::Kafka {
                code: ErrorCode::KafkaUnavailable,
                message: format!(
                    "kafka did not acknowledge the record on topic '{}' within {} ms",
                    record.topic,
                    self.timeout.as_millis()
                ),
            }),
        }
    }
}

/// Maps a librdkafka error to what the HTTP client is told.
pub fn map_error(error: &KafkaError, topic: &str) -> DataPlaneError {
    use RDKafkaErrorCode::*;
    let Some(rd_code) = error.rdkafka_error_code() else {
        return DataPlaneError::Kafka {
            code: ErrorCode::KafkaRejected,
            message: format!("kafka refused the record: {error}"),
        };
    };
    let (code, message) = match rd_code {
        QueueFull => (
            ErrorCode::KafkaUnavailable,
            "the producer queue is full".to_owned(),
        ),
        MessageTimedOut
        | RequestTimedOut
        | AllBrokersDown
        | BrokerTransportFailure
        | BrokerNotAvailable
        | LeaderNotAvailable
        | NotLeaderForPartition
        | NetworkException
        | NotEnoughReplicas
        | NotEnoughReplicasAfterAppend
        | Resolve => (
            ErrorCode::KafkaUnavailable,
            format!("kafka is unavailable for topic '{topic}': {rd_code}"),
        ),
        MessageSizeTooLarge | InvalidMessageSize | MessageBatchTooLarge => (
            ErrorCode::RecordTooLarge,
            format!("the record is too large for topic '{topic}': {rd_code}"),
        ),
        UnknownTopicOrPartition | UnknownTopic | UnknownPartition => (
            ErrorCode::UnknownTopic,
            format!("topic '{topic}' does not exist on the kafka cluster"),
        ),
        _ => (
            ErrorCode::KafkaRejected,
            format!("kafka refused the record for topic '{topic}': {rd_code}"),
        ),
    };
    DataPlaneError::Kafka { code, message }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ProducerKey {
    cluster: ClientIdentity,
    acks: Acks,
}

/// What makes two clients of a cluster interchangeable: its servers and every client
/// property, security settings included. A digest, so that pool keys hold no secret.
pub(crate) type ClientIdentity = [u8; 32];

/// The [`ClientIdentity`] of `cluster`.
pub(crate) fn client_identity(cluster: &KafkaCluster) -> ClientIdentity {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for server in &cluster.servers {
        digest.update(server.as_bytes());
        digest.update([0]);
    }
    digest.update([1]);
    for (key, value) in cluster.client_properties() {
        digest.update(key.as_bytes());
        digest.update([0]);
        digest.update(value.as_bytes());
        digest.update([0]);
    }
    digest.finalize().into()
}

/// Checks that the files the clusters' TLS settings name can be read, so that a bad path
/// is refused with its option's pointer rather than by the Kafka client's own message.
pub(crate) fn check_files(clusters: &[KafkaCluster]) -> Result<(), String> {
    for cluster in clusters {
        for (pointer, path) in cluster.security.files() {
            if let Err(error) = std::fs::File::open(path) {
                return Err(format!(
                    "kafka binding '{}' ({pointer}): cannot read '{path}': {error}",
                    cluster.binding
                ));
            }
        }
    }
    Ok(())
}

/// Sets every client property of `cluster` on `config`.
pub(crate) fn set_client_properties(config: &mut ClientConfig, cluster: &KafkaCluster) {
    for (key, value) in cluster.client_properties() {
        config.set(key, value);
    }
}

/// The producers of one applied configuration, by cluster index and acks level.
#[derive(Debug, Default)]
pub struct Producers {
    by_cluster: Vec<[Option<Arc<Producer>>; 3]>,
}

fn acks_slot(acks: Acks) -> usize {
    match acks {
        Acks::None => 0,
        Acks::LeaderOnly => 1,
        Acks::InSyncReplicas => 2,
    }
}

impl Producers {
    /// The producer for `cluster` and `acks`, if the configuration needs one.
    pub fn get(&self, cluster: usize, acks: Acks) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?[acks_slot(acks)].as_ref()
    }

    /// Any producer of `cluster`.
    pub fn any(&self, cluster: usize) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?.iter().flatten().next()
    }
}

impl Producer {
    /// Asks the cluster for its metadata (blocking: call from `spawn_blocking`).
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        use rdkafka::producer::Producer as _;
        self.inner
            .client()
            .fetch_metadata(None, timeout)
            .map(|_| ())
            .map_err(|e| self.errors.explain(&e))
    }
}

/// Creates producers and keeps them across configurations with the same cluster settings.
#[derive(Default)]
pub struct ProducerPool {
    live: Mutex<HashMap<ProducerKey, Arc<Producer>>>,
}

impl ProducerPool {
    /// The producers `uses` asks for (cluster index, acks), reusing existing ones. Producers
    /// no longer asked for are released once the last request holding them ends.
    pub fn attach(
        &self,
        clusters: &[KafkaCluster],
        uses: impl IntoIterator<Item = (usize, Acks)>,
    ) -> Result<Producers, String> {
        let mut live = self
            .live
            .lock()
            .map_err(|_| "producer pool lock poisoned")?;
        let mut next: HashMap<ProducerKey, Arc<Producer>> = HashMap::new();
        let mut producers = Producers {
            by_cluster: vec![Default::default(); clusters.len()],
        };
        for (index, acks) in uses {
            let cluster = clusters
                .get(index)
                .ok_or("route names an unknown cluster")?;
            let key = ProducerKey {
                cluster: client_identity(cluster),
                acks,
            };
            let producer = match next.get(&key).or_else(|| live.get(&key)) {
                Some(existing) => existing.clone(),
                None => Arc::new(create_producer(cluster, acks)?),
            };
            next.insert(key, producer.clone());
            producers.by_cluster[index][acks_slot(acks)] = Some(producer);
        }
        *live = next;
        Ok(producers)
    }
}

fn create_producer(cluster: &KafkaCluster, acks: Acks) -> Result<Producer, String> {
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
    set_client_properties(&mut config, cluster);
    let timeout_ms: u64 = config
        .get("message.timeout.ms")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            format!(
                "kafka client '{}': message.timeout.ms must be a number",
                cluster.binding
            )
        })?;
    let errors = Arc::new(consumer::QuietContext::new());
    let inner: FutureProducer<consumer::SharedContext> = config
        .create_with_context(consumer::SharedContext(errors.clone()))
        .map_err(|e| format!("kafka client '{}': {e}", cluster.binding))?;
    Ok(Producer {
        inner,
        errors,
        timeout: Duration::from_millis(timeout_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(rd: RDKafkaErrorCode) -> ErrorCode {
        map_error(&KafkaError::MessageProduction(rd), "t").code()
    }

    #[test]
    fn kafka_errors_map_to_the_documented_statuses() {
        assert_eq!(code_of(RDKafkaErrorCode::QueueFull).status(), 503);
        assert_eq!(code_of(RDKafkaErrorCode::MessageTimedOut).status(), 503);
        assert_eq!(code_of(RDKafkaErrorCode::AllBrokersDown).status(), 503);
        assert_eq!(code_of(RDKafkaErrorCode::MessageSizeTooLarge).status(), 413);
        assert_eq!(
            code_of(RDKafkaErrorCode::UnknownTopicOrPartition),
            ErrorCode::UnknownTopic
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::UnknownTopicOrPartition).status(),
            502
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::TopicAuthorizationFailed).status(),
            502
        );
        assert!(code_of(RDKafkaErrorCode::QueueFull).retryable());
    }

    #[test]
    fn unknown_topic_message_names_the_topic() {
        let error = map_error(
            &KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition),
            "orders",
        );
        assert_eq!(
            error.to_string(),
            "topic 'orders' does not exist on the kafka cluster"
        );
    }

    #[test]
    fn bad_properties_are_refused_with_the_binding_name() {
        let cluster = KafkaCluster {
            binding: "south".to_owned(),
            servers: vec!["127.0.0.1:1".to_owned()],
            properties: [("no.such.property".to_owned(), "1".to_owned())]
                .into_iter()
                .collect(),
            topics: Vec::new(),
            cache_max_bytes: sluice_shared::table::DEFAULT_CACHE_MAX_BYTES,
            security: Default::default(),
        };
        let error = ProducerPool::default()
            .attach(std::slice::from_ref(&cluster), [(0, Acks::LeaderOnly)])
            .expect_err("unknown property");
        assert!(error.contains("kafka client 'south'"), "{error}");
        assert!(error.contains("no.such.property"), "{error}");
    }

    #[test]
    fn producers_are_shared_across_configurations_with_the_same_cluster() {
        let cluster = KafkaCluster {
            binding: "south".to_owned(),
            servers: vec!["127.0.0.1:1".to_owned()],
            properties: IndexMap::new(),
            topics: Vec::new(),
            cache_max_bytes: sluice_shared::table::DEFAULT_CACHE_MAX_BYTES,
            security: Default::default(),
        };
        let pool = ProducerPool::default();
        let first = pool
            .attach(std::slice::from_ref(&cluster), [(0, Acks::LeaderOnly)])
            .expect("attach");
        let second = pool
            .attach(
                std::slice::from_ref(&cluster),
                [(0, Acks::LeaderOnly), (0, Acks::LeaderOnly)],
            )
            .expect("attach");
        let (a, b) = (
            first.get(0, Acks::LeaderOnly).expect("a"),
            second.get(0, Acks::LeaderOnly).expect("b"),
        );
        assert!(Arc::ptr_eq(a, b), "the same producer must be reused");
        assert!(second.get(0, Acks::None).is_none());
    }
}
