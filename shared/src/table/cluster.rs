//! Kafka clusters: servers, client properties (which are producer-only, consumer-only or
//! secret), security settings.

use indexmap::IndexMap;

/// A Kafka cluster, from a `kafka` client binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaCluster {
    /// The `kafka` client binding.
    pub binding: String,
    /// Bootstrap servers; empty means "use the embedded development broker".
    pub servers: Vec<String>,
    /// Extra librdkafka properties.
    pub properties: IndexMap<String, String>,
    /// Topics named literally by routes (created on the embedded broker).
    pub topics: Vec<String>,
    /// Memory bound of each fetched topic's cache, bytes.
    pub cache_max_bytes: u64,
    /// TLS and SASL to the brokers, as librdkafka properties.
    pub security: KafkaSecurity,
}

impl KafkaCluster {
    /// Every librdkafka property of this cluster's clients: `properties`, then security.
    pub fn client_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(self.security.properties())
    }

    /// The properties of this cluster's producers: every one but the consumer-only ones.
    pub fn producer_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.client_properties()
            .filter(|(key, _)| !CONSUMER_ONLY_PROPERTIES.contains(key))
    }

    /// The properties of this cluster's consumers: every one but the producer-only ones.
    /// A change to a producer-only property (`linger.ms`) leaves consumers, and the SSE
    /// streams they feed, untouched.
    pub fn consumer_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.client_properties()
            .filter(|(key, _)| !PRODUCER_ONLY_PROPERTIES.contains(key))
    }
}

/// librdkafka properties that only producers read (librdkafka's CONFIGURATION.md, "P").
pub const PRODUCER_ONLY_PROPERTIES: &[&str] = &[
    "transactional.id",
    "transaction.timeout.ms",
    "enable.idempotence",
    "enable.gapless.guarantee",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.ms",
    "linger.ms",
    "message.send.max.retries",
    "retries",
    "queue.buffering.backpressure.threshold",
    "compression.codec",
    "compression.type",
    "compression.level",
    "batch.num.messages",
    "batch.size",
    "delivery.report.only.error",
    "sticky.partitioning.linger.ms",
    "request.required.acks",
    "acks",
    "request.timeout.ms",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
    "queuing.strategy",
    "produce.offset.report",
];

/// librdkafka properties that only consumers read (librdkafka's CONFIGURATION.md, "C").
pub const CONSUMER_ONLY_PROPERTIES: &[&str] = &[
    "group.id",
    "group.instance.id",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "group.protocol.type",
    "group.protocol",
    "group.remote.assignor",
    "coordinator.query.interval.ms",
    "max.poll.interval.ms",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.auto.offset.store",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "fetch.wait.max.ms",
    "fetch.queue.backoff.ms",
    "fetch.message.max.bytes",
    "max.partition.fetch.bytes",
    "fetch.max.bytes",
    "fetch.min.bytes",
    "fetch.error.backoff.ms",
    "isolation.level",
    "enable.partition.eof",
    "check.crcs",
    "auto.offset.reset",
];

/// librdkafka properties that carry TLS and SASL settings, some of them secret. Its
/// `Debug` shows secrets as `***`, so that no log or panic message prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    pub(crate) properties: Vec<(String, String)>,
    /// Files the properties name: (JSON pointer of the option, path).
    pub(crate) files: Vec<(String, String)>,
    /// Key stores of a `tls` client binding's vault, read by the data plane into
    /// `ssl.ca.pem`, `ssl.certificate.pem` and `ssl.key.pem`.
    pub stores: Vec<KafkaStore>,
}

/// A key store a Kafka client's TLS reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaStore {
    /// What it provides.
    pub role: KafkaStoreRole,
    /// The store.
    pub file: super::server::StoreFile,
    /// The JSON pointer of the option naming it.
    pub pointer: String,
}

/// What a Kafka client reads from a key store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaStoreRole {
    /// Trusted certificate authorities, by alias (every certificate when empty).
    Trust(Vec<String>),
    /// The client's key and certificate chain, by alias.
    Key(String),
}

/// librdkafka properties whose values are secrets.
pub const SECRET_PROPERTIES: &[&str] = &[
    "sasl.password",
    "ssl.key.password",
    "ssl.key.pem",
    "sasl.oauthbearer.config",
];

impl KafkaSecurity {
    /// Sets `key`; the data plane sets the PEM properties read from `stores` this way.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.properties.push((key.to_owned(), value.into()));
    }

    pub(crate) fn file(&mut self, key: &str, pointer: String, path: &str) {
        self.set(key, path);
        self.files.push((pointer, path.to_owned()));
    }

    /// The properties, secrets included: for building clients only.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Files the settings name, with the pointer of the option naming each.
    pub fn files(&self) -> &[(String, String)] {
        &self.files
    }
}

impl std::fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.properties {
            if SECRET_PROPERTIES.contains(&key.as_str()) {
                map.entry(key, &"***");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

/// Default memory bound of a fetched topic's cache.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;
