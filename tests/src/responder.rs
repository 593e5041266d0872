//! A Kafka service for request-response tests: reads requests, answers on the reply topic.

use std::time::Duration;

use anyhow::Result;
use rdkafka::ClientConfig;

use super::broker::{Record, broker, consumer_from_start};

/// What a [`Responder`] answers to one request record.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// `:status` header; none leaves it out (Sluice then answers 200).
    pub status: Option<String>,
    /// Other reply headers.
    pub headers: Vec<(String, String)>,
    /// Reply value.
    pub body: Vec<u8>,
    /// Wait this long before replying.
    pub delay: Duration,
}

/// A service that consumes a request topic and replies on a reply topic, copying the
/// correlation id, as a backend behind Sluice would.
pub struct Responder {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Responder {
    /// Starts answering every record of `request_topic` (from its beginning) with `answer`.
    pub fn start(
        request_topic: &str,
        reply_topic: &str,
        answer: impl Fn(&Record) -> Answer + Send + Sync + 'static,
    ) -> Result<Self> {
        use rdkafka::consumer::StreamConsumer;
        use rdkafka::message::{Header, OwnedHeaders};
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let servers = broker().bootstrap().to_owned();
        let consumer: StreamConsumer = consumer_from_start(&servers, request_topic)?;
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &servers)
            .set("linger.ms", "0")
            .create()?;
        let reply_topic = reply_topic.to_owned();
        let answer = std::sync::Arc::new(answer);
        let task = tokio::spawn(async move {
            loop {
                let Ok(message) = consumer.recv().await else {
                    continue;
                };
                let record = Record::of(&message);
                let Some(correlation_id) = record.header("zilla:correlation-id") else {
                    continue;
                };
                let reply = answer(&record);
                let (producer, topic) = (producer.clone(), reply_topic.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(reply.delay).await;
                    let mut headers = OwnedHeaders::new().insert(Header {
                        key: "zilla:correlation-id",
                        value: Some(correlation_id.as_bytes()),
                    });
                    if let Some(status) = &reply.status {
                        headers = headers.insert(Header {
                            key: ":status",
                            value: Some(status.as_bytes()),
                        });
                    }
                    for (name, value) in &reply.headers {
                        headers = headers.insert(Header {
                            key: name,
                            value: Some(value.as_bytes()),
                        });
                    }
                    let record = FutureRecord::<(), _>::to(&topic)
                        .payload(&reply.body)
                        .headers(headers);
                    let _ = producer.send(record, Duration::from_secs(5)).await;
                });
            }
        });
        Ok(Self { task })
    }
}
