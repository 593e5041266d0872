//! Consumers shared by every request on one topic (reply taps, topic caches).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_shared::table::KafkaCluster;

use super::client::ClientError;
use super::context::QuietContext;

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
) -> Result<Arc<SharedConsumer>, ClientError> {
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
        .map_err(|e: KafkaError| ClientError::Settings {
            binding: cluster.binding.clone(),
            reason: e.to_string(),
        })
}

/// The partitions of `topic` (blocking: call from `spawn_blocking`).
pub(crate) fn topic_partitions(
    consumer: &SharedConsumer,
    topic: &str,
) -> Result<Vec<i32>, ClientError> {
    use rdkafka::consumer::Consumer;
    let metadata = consumer
        .fetch_metadata(Some(topic), CONSUMER_START_TIMEOUT)
        .map_err(|e| ClientError::Cluster(consumer.context().explain(&e)))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ClientError::NoTopic);
    }
    Ok(partitions)
}

/// Assigns `consumer` to every partition of `topic`, at its current end or its beginning;
/// returns the positions assigned.
pub(crate) async fn assign_topic(
    consumer: &Arc<SharedConsumer>,
    topic: &str,
    at_end: bool,
) -> Result<Vec<(i32, rdkafka::Offset)>, ClientError> {
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
                    .map_err(|e| ClientError::Cluster(e.to_string()))?;
                Offset::Offset(high)
            } else {
                Offset::Beginning
            };
            positions.push((partition, offset));
        }
        Ok::<_, ClientError>(positions)
    })
    .await
    .map_err(|e| ClientError::Task(e.to_string()))??;
    assign(consumer, topic, &positions)?;
    Ok(positions)
}

fn assign(
    consumer: &SharedConsumer,
    topic: &str,
    positions: &[(i32, rdkafka::Offset)],
) -> Result<(), ClientError> {
    use rdkafka::consumer::Consumer;
    let mut assignment = rdkafka::TopicPartitionList::new();
    for (partition, offset) in positions {
        assignment
            .add_partition_offset(topic, *partition, *offset)
            .map_err(|e| ClientError::Cluster(e.to_string()))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| ClientError::Cluster(e.to_string()))
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
    ) -> Result<(Arc<Self>, Vec<(i32, rdkafka::Offset)>), ClientError> {
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
