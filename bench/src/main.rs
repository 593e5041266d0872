//! Benchmark baselines for Sluice.
//!
//! - `direct-produce`: sends `--messages` records of `--size` bytes with `--window` sends in
//!   flight, using the producer settings Sluice uses by default, and prints one JSON line
//!   with the rate and its own CPU time per message.
//! - `responder` and `direct-rr`: see `rr.rs`.
//! - `longpoll`: see `longpoll.rs`.
//! - `sse-load` and `ts-produce`: see `sse.rs`.
//! - `apply`: configuration changes through the control plane; see `apply.rs`.
//! - `baseline`: a minimal hyper server (echo, long-poll, SSE fan-out), the limit the Sluice
//!   numbers are compared with; see `baseline.rs`.
//! - `ryw`: read-your-writes, PUT then GET on one instance; see `ryw.rs`.
//! - `registry`: the tests' schema registry as a process, with schemas registered; see
//!   `registry.rs`.

mod apply;
mod baseline;
mod longpoll;
mod registry;
mod rr;
mod ryw;
mod sse;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Benchmark helpers.
#[derive(Debug, Parser)]
enum Command {
    /// Direct rdkafka producer baseline for one-way produce.
    DirectProduce(Args),
    /// Answers request records on the topic named by their reply-to header.
    Responder(rr::ResponderArgs),
    /// Direct produce-and-await-reply baseline for request-response.
    DirectRr(rr::DirectRrArgs),
    /// Holds many long-polls open, produces one change, times every answer.
    Longpoll(longpoll::LongpollArgs),
    /// Holds many SSE streams open and checks every event.
    SseLoad(sse::SseLoadArgs),
    /// Produces numbered, timestamped records at a fixed rate.
    TsProduce(sse::TsProduceArgs),
    /// Apply latency, data-plane p99 during applies, RSS after many applies.
    Apply(apply::ApplyArgs),
    /// Runs a schema registry with the given schemas until killed.
    Registry(registry::RegistryArgs),
    /// PUT then GET loops: stale reads on one instance.
    Ryw(ryw::RywArgs),
    /// Runs the minimal baseline server until killed.
    Baseline(baseline::BaselineArgs),
}

/// Direct rdkafka producer baseline.
#[derive(Debug, clap::Args)]
struct Args {
    /// Bootstrap servers.
    #[arg(long)]
    bootstrap: String,
    /// Topic.
    #[arg(long)]
    topic: String,
    /// Records in flight at once (the HTTP client's connection count).
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// Records to send in total.
    #[arg(long, default_value_t = 200_000)]
    messages: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// `linger.ms`, as Sluice's default.
    #[arg(long, default_value = "1")]
    linger_ms: String,
    /// Give record i the key `key-i` (to fill a topic cache).
    #[arg(long)]
    keyed: bool,
    /// Clock ticks per second of /proc/self/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

/// CPU time of this process so far (all threads), from /proc/self/stat.
/// The `q` quantile of `sorted` (0 when empty).
pub(crate) fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    sorted
        .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn cpu_time(clk_tck: u64) -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the ")" that closes the command name; utime and stime are fields 14, 15.
    let after = stat
        .rsplit_once(')')
        .context("malformed /proc/self/stat")?
        .1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Duration::from_micros(ticks * 1_000_000 / clk_tck))
}

fn main() -> Result<()> {
    let command = Command::parse();
    if let Command::Baseline(args) = command {
        return baseline::run(args);
    }
    let runtime = match command {
        // The gateway and its load share a two-worker runtime, as `sluice serve` would.
        Command::Apply(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    match command {
        Command::DirectProduce(args) => runtime.block_on(run(args)),
        Command::Responder(args) => runtime.block_on(rr::responder(args)),
        Command::DirectRr(args) => runtime.block_on(rr::direct_rr(args)),
        Command::Longpoll(args) => runtime.block_on(longpoll::run(args)),
        Command::SseLoad(args) => runtime.block_on(sse::sse_load(args)),
        Command::TsProduce(args) => runtime.block_on(sse::ts_produce(args)),
        Command::Apply(args) => runtime.block_on(apply::run(args)),
        Command::Registry(args) => runtime.block_on(registry::run(args)),
        Command::Ryw(args) => runtime.block_on(ryw::run(args)),
        Command::Baseline(args) => baseline::run(args),
    }
}

async fn run(args: Args) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", &args.linger_ms)
        .set("message.timeout.ms", "5000")
        .set("socket.nagle.disable", "true")
        .create()?;
    let producer = Arc::new(producer);
    let payload: Arc<Vec<u8>> = Arc::new(vec![b'x'; args.size]);
    // Warm up: metadata and connections.
    producer
        .send(
            FutureRecord::<(), _>::to(&args.topic).payload(&payload[..]),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| e)?;

    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_time(args.clk_tck)?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.window);
    for _ in 0..args.window {
        let (producer, payload, next, failures) = (
            producer.clone(),
            payload.clone(),
            next.clone(),
            failures.clone(),
        );
        let (topic, total, keyed) = (args.topic.clone(), args.messages, args.keyed);
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break;
                }
                let sent = Instant::now();
                let key = format!("key-{index}");
                let mut record = FutureRecord::<str, _>::to(&topic).payload(&payload[..]);
                if keyed {
                    record = record.key(&key);
                }
                // Enqueue, then await the acknowledgement, as Sluice does per request.
                let delivered = match producer.send_result(record) {
                    Ok(delivery) => matches!(delivery.await, Ok(Ok(_))),
                    Err(_) => false,
                };
                if !delivered {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(args.messages);
    for task in tasks {
        latencies.extend(task.await?);
    }
    latencies.sort_unstable();
    let at = |q: f64| quantile(&latencies, q);
    let elapsed = started.elapsed();
    let cpu = cpu_time(args.clk_tck)? - cpu_before;
    let failures = failures.load(Ordering::Relaxed);
    if failures > 0 {
        bail!("{failures} of {} records failed", args.messages);
    }
    println!(
        "{{\"messages\": {}, \"window\": {}, \"seconds\": {:.3}, \"msg_per_s\": {:.0}, \"cpu_us_per_msg\": {:.2}, \"p50_us\": {}, \"p99_us\": {}}}",
        args.messages,
        args.window,
        elapsed.as_secs_f64(),
        args.messages as f64 / elapsed.as_secs_f64(),
        cpu.as_micros() as f64 / args.messages as f64,
        at(0.5),
        at(0.99)
    );
    Ok(())
}
