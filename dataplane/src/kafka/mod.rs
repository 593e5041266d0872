//! Shared Kafka clients.
//!
//! - [`Producer`] (`producer`): one per (cluster, acks level) per process, created when a
//!   configuration that needs it is applied, shared by every request, kept by a later
//!   configuration with the same cluster settings, and replaced by itself when it breaks.
//! - `health`: the count of clients replaced because they broke.
//! - [`reply`]: one reply tap per reply topic, dispatching replies by correlation id.
//! - [`cache`]: one topic cache per fetched topic, the latest record per key.
//! - [`feed`]: one feed per streamed topic, a bounded window of records for SSE streams.
//! - `consumer`: the setup those share.
//! - [`embedded`]: the in-process development broker.

pub mod cache;
mod consumer;
pub mod embedded;
pub mod feed;
pub(crate) mod health;
mod producer;
pub mod reply;

pub use producer::{Producer, Record};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_shared::ErrorCode;
use sluice_shared::spec::Acks;
use sluice_shared::table::KafkaCluster;

#[cfg(test)]
use indexmap::IndexMap;

use crate::error::DataPlaneError;

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

/// What makes two clients of a cluster interchangeable: its servers and every property
/// the client reads, security settings included. A digest, so that pool keys hold no secret.
pub(crate) type ClientIdentity = [u8; 32];

/// The [`ClientIdentity`] of `cluster`'s producers.
pub(crate) fn producer_identity(cluster: &KafkaCluster) -> ClientIdentity {
    identity(cluster, cluster.producer_properties())
}

/// The [`ClientIdentity`] of `cluster`'s consumers: a producer-only property does not
/// change it, so a change to one restarts no consumer.
pub(crate) fn consumer_identity(cluster: &KafkaCluster) -> ClientIdentity {
    identity(cluster, cluster.consumer_properties())
}

fn identity<'a>(
    cluster: &KafkaCluster,
    properties: impl Iterator<Item = (&'a str, &'a str)>,
) -> ClientIdentity {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for server in &cluster.servers {
        digest.update(server.as_bytes());
        digest.update([0]);
    }
    digest.update([1]);
    for (key, value) in properties {
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

/// Sets every consumer property of `cluster` on `config`.
pub(crate) fn set_consumer_properties(config: &mut ClientConfig, cluster: &KafkaCluster) {
    for (key, value) in cluster.consumer_properties() {
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

    /// The producer of `cluster` in acks slot `slot` (0 to 2), if any.
    pub(crate) fn by_slot(&self, cluster: usize, slot: usize) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?.get(slot)?.as_ref()
    }

    /// Any producer of `cluster`.
    pub fn any(&self, cluster: usize) -> Option<&Arc<Producer>> {
        self.by_cluster.get(cluster)?.iter().flatten().next()
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
                cluster: producer_identity(cluster),
                acks,
            };
            let producer = match next.get(&key).or_else(|| live.get(&key)) {
                Some(existing) => existing.clone(),
                None => Arc::new(producer::create(cluster, acks)?),
            };
            next.insert(key, producer.clone());
            producers.by_cluster[index][acks_slot(acks)] = Some(producer);
        }
        *live = next;
        Ok(producers)
    }
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
