//! The test broker: Tansu when `KAFKA_BOOTSTRAP_SERVERS` names one, else librdkafka's
//! in-process mock cluster; topics, produce, and reading back what landed.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sluice_dataplane::EmbeddedBroker;

/// The broker the tests run against.
pub enum TestBroker {
    /// A real broker (Tansu in CI).
    Real(String),
    /// The in-process mock cluster.
    Mock(EmbeddedBroker),
}

/// The process-wide broker.
pub fn broker() -> &'static TestBroker {
    static BROKER: OnceLock<TestBroker> = OnceLock::new();
    BROKER.get_or_init(|| match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.trim().is_empty() => TestBroker::Real(servers),
        _ => TestBroker::Mock(
            EmbeddedBroker::start().unwrap_or_else(|e| panic!("mock cluster: {e}")),
        ),
    })
}

impl TestBroker {
    /// `host:port` list.
    pub fn bootstrap(&self) -> &str {
        match self {
            Self::Real(servers) => servers,
            Self::Mock(mock) => mock.bootstrap_servers(),
        }
    }

    /// Whether this is the mock cluster.
    pub fn is_mock(&self) -> bool {
        matches!(self, Self::Mock(_))
    }

    /// Creates a fresh topic with a unique name starting with `prefix`.
    pub async fn topic(&self, prefix: &str) -> Result<String> {
        let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        match self {
            Self::Mock(mock) => mock.create_topic(&name, 1).map_err(|e| anyhow!(e))?,
            Self::Real(servers) => {
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", servers)
                    .create()?;
                let topic = NewTopic::new(&name, 1, TopicReplication::Fixed(1));
                let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
                for result in admin.create_topics([&topic], &options).await? {
                    result.map_err(|(topic, code)| anyhow!("create topic {topic}: {code}"))?;
                }
            }
        }
        Ok(name)
    }

    /// Produces one record to partition 0 of `topic` and waits for the acknowledgement.
    pub async fn produce(
        &self,
        topic: &str,
        key: &str,
        value: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<()> {
        use rdkafka::message::{Header, OwnedHeaders};
        use rdkafka::producer::{FutureProducer, FutureRecord};
        static PRODUCER: OnceLock<FutureProducer> = OnceLock::new();
        let producer = match PRODUCER.get() {
            Some(producer) => producer,
            None => {
                let created: FutureProducer = ClientConfig::new()
                    .set("bootstrap.servers", self.bootstrap())
                    .set("linger.ms", "0")
                    .create()?;
                PRODUCER.get_or_init(|| created)
            }
        };
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let mut record = FutureRecord::to(topic).key(key).partition(0).headers(owned);
        if let Some(value) = value {
            record = record.payload(value);
        }
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(error, _)| anyhow!("produce to {topic}: {error}"))?;
        Ok(())
    }

    /// Reads `count` records from partition 0 of `topic` from the start, waiting up to
    /// `timeout`; fails if fewer arrive. Waits a little longer to catch extra records.
    pub async fn read(&self, topic: &str, count: usize, timeout: Duration) -> Result<Vec<Record>> {
        let servers = self.bootstrap().to_owned();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || read_blocking(&servers, &topic, count, timeout)).await?
    }
}

/// A record as the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Key, if not null.
    pub key: Option<Vec<u8>>,
    /// Value, `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    /// Copies a consumed message.
    pub fn of(message: &impl Message) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }

    /// The first header called `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// A consumer of partition 0 of `topic` from its first record, in a group of its own.
pub fn consumer_from_start<C: Consumer + rdkafka::config::FromClientConfig>(
    servers: &str,
    topic: &str,
) -> Result<C> {
    let consumer: C = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set(
            "group.id",
            format!("sluice-tests-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// How long to keep polling for unexpected extra records after the expected ones arrived.
const EXTRA_RECORD_WAIT: Duration = Duration::from_millis(300);

fn read_blocking(
    servers: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Record>> {
    let consumer: BaseConsumer = consumer_from_start(servers, topic)?;
    let mut records = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut extra_deadline: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let until = extra_deadline.unwrap_or(deadline);
        if now >= until {
            break;
        }
        match consumer.poll(until - now) {
            Some(Ok(message)) => {
                records.push(Record::of(&message));
                if records.len() >= count && extra_deadline.is_none() {
                    extra_deadline = Some(Instant::now() + EXTRA_RECORD_WAIT);
                }
            }
            Some(Err(error)) => bail!("consume {topic}: {error}"),
            None => {}
        }
    }
    if records.len() < count {
        bail!(
            "expected {count} record(s) on {topic}, got {}: {records:?}",
            records.len()
        );
    }
    Ok(records)
}
