//! Consumers shared by every request on one topic (reply taps, topic caches).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_shared::table::KafkaCluster;

/// Logs librdkafka's errors through tracing, leaving out the partition-EOF events the shared
/// consumers ask for (they mean "caught up", not trouble).
pub(crate) struct QuietContext;

impl ClientContext for QuietContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(error = %error, reason, "kafka client error");
    }
}

impl ConsumerContext for QuietContext {}

/// The consumer type of reply taps, topic caches and feeds.
pub(crate) type SharedConsumer = StreamConsumer<QuietContext>;

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
        .set("socket.nagle.disable", "true");
    for (key, value) in &cluster.properties {
        config.set(key, value);
    }
    config
        .create_with_context(QuietContext)
        .map(Arc::new)
        .map_err(|e: KafkaError| e.to_string())
}

/// The partitions of `topic` (blocking: call from `spawn_blocking`).
pub(crate) fn topic_partitions(consumer: &SharedConsumer, topic: &str) -> Result<Vec<i32>, String> {
    use rdkafka::consumer::Consumer;
    let metadata = consumer
        .fetch_metadata(Some(topic), CONSUMER_START_TIMEOUT)
        .map_err(|e| e.to_string())?;
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

/// Assigns `consumer` to every partition of `topic`, at its current end or its beginning.
pub(crate) async fn assign_topic(
    consumer: &Arc<SharedConsumer>,
    topic: &str,
    at_end: bool,
) -> Result<Vec<i32>, String> {
    use rdkafka::consumer::Consumer;
    use rdkafka::{Offset, TopicPartitionList};
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
    let mut assignment = TopicPartitionList::new();
    for (partition, offset) in &positions {
        assignment
            .add_partition_offset(topic, *partition, *offset)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&assignment).map_err(|e| e.to_string())?;
    Ok(positions
        .into_iter()
        .map(|(partition, _)| partition)
        .collect())
}
