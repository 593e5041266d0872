//! Request-response baselines.
//!
//! - `responder`: consumes request topics from their beginning and, for each record with a
//!   correlation id, produces the record's value back on the topic its `zilla:reply-to`
//!   header names, with the same correlation id and `:status: 200`.
//! - `direct-rr`: `--concurrency` clients, each producing a request and awaiting its reply
//!   (matched by correlation id on one shared consumer), for `--seconds`; prints one JSON
//!   line with throughput and latency percentiles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::oneshot;

const CORRELATION: &str = "zilla:correlation-id";
const REPLY_TO: &str = "zilla:reply-to";

/// `responder` options.
#[derive(Debug, clap::Args)]
pub struct ResponderArgs {
    /// Bootstrap servers.
    #[arg(long)]
    bootstrap: String,
    /// Request topics (partition 0 of each), comma-separated.
    #[arg(long, value_delimiter = ',')]
    requests: Vec<String>,
    /// `fetch.wait.max.ms` of the consumer.
    #[arg(long, default_value = "10")]
    fetch_wait_ms: String,
}

/// `direct-rr` options.
#[derive(Debug, clap::Args)]
pub struct DirectRrArgs {
    /// Bootstrap servers.
    #[arg(long)]
    bootstrap: String,
    /// Request topic.
    #[arg(long)]
    requests: String,
    /// Reply topic.
    #[arg(long)]
    replies: String,
    /// Clients with one request in flight each.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Measurement time.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Request value size.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// `fetch.wait.max.ms` of the reply consumer.
    #[arg(long, default_value = "10")]
    fetch_wait_ms: String,
}

fn consumer(bootstrap: &str, fetch_wait_ms: &str, topics: &[String]) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("sluice-bench-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", fetch_wait_ms)
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

fn producer(bootstrap: &str, linger_ms: &str) -> Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms)
        .set("socket.nagle.disable", "true")
        .create()?)
}

fn header<'a>(message: &'a impl Message, name: &str) -> Option<&'a [u8]> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
}

/// Runs until killed.
pub async fn responder(args: ResponderArgs) -> Result<()> {
    let consumer = consumer(&args.bootstrap, &args.fetch_wait_ms, &args.requests)?;
    let producer = producer(&args.bootstrap, "0")?;
    loop {
        let message = consumer.recv().await?;
        let (Some(correlation_id), Some(reply_to)) =
            (header(&message, CORRELATION), header(&message, REPLY_TO))
        else {
            continue;
        };
        let topic = String::from_utf8_lossy(reply_to).into_owned();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: CORRELATION,
                value: Some(correlation_id),
            })
            .insert(Header {
                key: ":status",
                value: Some("200"),
            });
        let record = FutureRecord::<(), _>::to(&topic)
            .payload(message.payload().unwrap_or_default())
            .headers(headers);
        // Enqueue only; the delivery future is awaited by nobody, as a fast backend would.
        if let Err((error, _)) = producer.send_result(record) {
            eprintln!("responder: {error}");
        }
    }
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>;

/// Prints `{"requests", "per_s", "p50_us", "p99_us", ...}`.
pub async fn direct_rr(args: DirectRrArgs) -> Result<()> {
    let consumer = consumer(
        &args.bootstrap,
        &args.fetch_wait_ms,
        std::slice::from_ref(&args.replies),
    )?;
    let producer = Arc::new(producer(&args.bootstrap, "1")?);
    let waiters: Waiters = Arc::default();
    let dispatch = waiters.clone();
    let tap = tokio::spawn(async move {
        while let Ok(message) = consumer.recv().await {
            if let Some(id) = header(&message, CORRELATION) {
                let id = String::from_utf8_lossy(id).into_owned();
                if let Some(waiter) = dispatch.lock().ok().and_then(|mut w| w.remove(&id)) {
                    let _ = waiter.send(());
                }
            }
        }
    });
    // Let the reply consumer reach its position before measuring.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let payload = Arc::new(vec![b'x'; args.size]);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut clients = Vec::new();
    for _ in 0..args.concurrency {
        let (producer, waiters, payload) = (producer.clone(), waiters.clone(), payload.clone());
        let (requests, replies) = (args.requests.clone(), args.replies.clone());
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let id = uuid::Uuid::new_v4().to_string();
                let (sender, receiver) = oneshot::channel();
                waiters
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .insert(id.clone(), sender);
                let started = Instant::now();
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: REPLY_TO,
                        value: Some(replies.as_str()),
                    })
                    .insert(Header {
                        key: CORRELATION,
                        value: Some(id.as_str()),
                    });
                let record = FutureRecord::<(), _>::to(&requests)
                    .payload(&payload[..])
                    .headers(headers);
                producer
                    .send(record, Duration::from_secs(5))
                    .await
                    .map_err(|(e, _)| e)?;
                tokio::time::timeout(Duration::from_secs(10), receiver)
                    .await
                    .context("no reply within 10 s")??;
                latencies.push(started.elapsed().as_micros() as u64);
            }
            anyhow::Ok(latencies)
        }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    tap.abort();
    latencies.sort_unstable();
    let at = |q: f64| crate::quantile(&latencies, q);
    println!(
        "{{\"concurrency\": {}, \"requests\": {}, \"per_s\": {:.0}, \"p50_us\": {}, \"p99_us\": {}}}",
        args.concurrency,
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99)
    );
    Ok(())
}
