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
