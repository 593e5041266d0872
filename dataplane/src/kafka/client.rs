//! What every Kafka client of a cluster shares: its identity (a digest of its settings),
//! its properties, the files its TLS settings name, and how its errors reach HTTP clients.

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_shared::ErrorCode;
use sluice_shared::table::KafkaCluster;

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
pub(crate) fn check_files(clusters: &[KafkaCluster]) -> Result<(), ClientError> {
    for cluster in clusters {
        for (pointer, path) in cluster.security.files() {
            if let Err(error) = std::fs::File::open(path) {
                return Err(ClientError::File {
                    binding: cluster.binding.clone(),
                    pointer: pointer.to_string(),
                    path: path.to_owned(),
                    reason: error.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Why a shared Kafka client could not be made, or could not reach its cluster or topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// librdkafka refused the client's settings.
    #[error("kafka client '{binding}': {reason}")]
    Settings {
        /// The kafka binding.
        binding: String,
        /// librdkafka's reason.
        reason: String,
    },
    /// The cluster names no servers and no embedded broker runs.
    #[error("kafka client '{0}' has no servers and no embedded broker was started")]
    NoServers(String),
    /// A file the cluster's TLS settings name cannot be read.
    #[error("kafka binding '{binding}' ({pointer}): cannot read '{path}': {reason}")]
    File {
        /// The kafka binding.
        binding: String,
        /// The option naming the file.
        pointer: String,
        /// The file.
        path: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// The cluster did not answer, or refused (with the client's last error when known).
    #[error("{0}")]
    Cluster(String),
    /// The topic does not exist.
    #[error("the topic does not exist on the kafka cluster")]
    NoTopic,
    /// A failure while starting the client of one topic (`what` says which).
    #[error("{what}: {source}")]
    Topic {
        /// For example "cache of topic 'items'".
        what: String,
        /// What failed.
        source: Box<ClientError>,
    },
    /// A route names a cluster the configuration does not have.
    #[error("a route names an unknown cluster")]
    UnknownCluster,
    /// A blocking task of the client failed.
    #[error("a kafka client task failed: {0}")]
    Task(String),
    /// The producer cannot take writes now.
    #[error("{0}")]
    Unwritable(String),
}

impl ClientError {
    /// Whether the failure is a topic the cluster does not have.
    pub(crate) fn is_no_topic(&self) -> bool {
        match self {
            Self::NoTopic => true,
            Self::Topic { source, .. } => source.is_no_topic(),
            _ => false,
        }
    }
}

/// Sets every consumer property of `cluster` on `config`.
pub(crate) fn set_consumer_properties(config: &mut ClientConfig, cluster: &KafkaCluster) {
    for (key, value) in cluster.consumer_properties() {
        config.set(key, value);
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
}
