//! SSE load: `sse-load` holds many event streams open and checks every event;
//! `ts-produce` writes timestamped, numbered records at a fixed rate.
//!
//! Each record's value is `<n>:<unix µs>`. Every client checks that `n` goes up by exactly
//! one (gaps and duplicates are counted) and measures `now - timestamp` on one client in 16.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// `sse-load` options.
#[derive(Debug, clap::Args)]
pub struct SseLoadArgs {
    /// Sluice listener.
    #[arg(long)]
    addr: SocketAddr,
    /// Stream path.
    #[arg(long)]
    path: String,
    /// Streams to open.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Seconds to hold them (after all are open).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Events each client must receive before the end (0: do not check).
    #[arg(long, default_value_t = 0)]
    expect: u64,
    /// Idle soak: no records are produced; hold every stream `--seconds` after all are open,
    /// then check that every one is still open and received a keep-alive comment.
    #[arg(long)]
    hold: bool,
    /// Local address to connect from (127.0.0.x), so that several load processes together
    /// hold more connections than one source address has ports.
    #[arg(long)]
    source: Option<IpAddr>,
}

/// `ts-produce` options.
#[derive(Debug, clap::Args)]
pub struct TsProduceArgs {
    /// Bootstrap servers.
    #[arg(long)]
    bootstrap: String,
    /// Topic (partition 0).
    #[arg(long)]
    topic: String,
    /// Records per second.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[derive(Default)]
struct Totals {
    events: AtomicU64,
    gaps: AtomicU64,
    duplicates: AtomicU64,
    connected: AtomicU64,
    first_event_us: AtomicU64,
    last_event_us: AtomicU64,
    /// Keep-alive comments received, and clients that received at least one.
    heartbeats: AtomicU64,
    heard: AtomicU64,
}

/// Runs `ts-produce`.
pub async fn ts_produce(args: TsProduceArgs) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("linger.ms", "0")
        .create()?;
    let total = args.rate * args.seconds;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    for n in 0..total {
        ticker.tick().await;
        let value = format!("{n}:{}", now_us());
        let record = FutureRecord::<(), _>::to(&args.topic)
            .payload(&value)
            .partition(0);
        if let Err((error, _)) = producer.send_result(record) {
            eprintln!("produce: {error}");
        }
    }
    producer
        .send(
            FutureRecord::<(), _>::to(&args.topic)
                .payload("end")
                .partition(0),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;
    println!("{{\"produced\": {total}}}");
    Ok(())
}

/// Runs `sse-load`.
pub async fn sse_load(args: SseLoadArgs) -> Result<()> {
    let totals = Arc::new(Totals {
        first_event_us: AtomicU64::new(u64::MAX),
        ..Totals::default()
    });
    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n\r\n",
        args.path
    );
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(args.seconds) + Duration::from_secs(60);
    let mut clients = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        let (totals, latencies, request) = (totals.clone(), latencies.clone(), request.clone());
        let (addr, source) = (args.addr, args.source);
        clients.push(tokio::spawn(async move {
            let result = tokio::time::timeout_at(
                deadline,
                client(addr, source, request, index % 16 == 0, &totals, &latencies),
            )
            .await;
            result.unwrap_or(Ok(0))
        }));
        if index % 500 == 499 {
            tokio::task::yield_now().await;
        }
    }
    let started = Instant::now();
    while totals.connected.load(Ordering::Relaxed) < args.clients as u64
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{{\"connected\": {}, \"connect_seconds\": {:.2}}}",
        totals.connected.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    if args.hold {
        return hold(&args, &totals, clients).await;
    }
    let mut received = Vec::with_capacity(args.clients);
    for client in clients {
        received.push(client.await??);
    }
    let first = totals.first_event_us.load(Ordering::Relaxed);
    let last = totals.last_event_us.load(Ordering::Relaxed);
    // Delivery rate over the time events were flowing.
    let elapsed = (last.saturating_sub(first) as f64 / 1e6).max(1e-3);
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_unstable();
    let at = |q: f64| crate::quantile(&latencies, q);
    let short = if args.expect > 0 {
        received.iter().filter(|r| **r < args.expect).count()
    } else {
        0
    };
    println!(
        "{{\"clients\": {}, \"events\": {}, \"events_per_s\": {:.0}, \"p50_us\": {}, \"p99_us\": {}, \"max_us\": {}, \"gaps\": {}, \"duplicates\": {}, \"short_clients\": {short}}}",
        args.clients,
        totals.events.load(Ordering::Relaxed),
        totals.events.load(Ordering::Relaxed) as f64 / elapsed,
        at(0.5),
        at(0.99),
        latencies.last().copied().unwrap_or(0),
        totals.gaps.load(Ordering::Relaxed),
        totals.duplicates.load(Ordering::Relaxed),
    );
    if totals.gaps.load(Ordering::Relaxed) > 0
        || totals.duplicates.load(Ordering::Relaxed) > 0
        || short > 0
    {
        anyhow::bail!("gaps, duplicates or missing events");
    }
    Ok(())
}

/// Idle soak: waits `--seconds`, then counts the streams still open (their tasks still
/// reading) and the ones that heard a keep-alive comment. Fails unless every stream is both.
async fn hold(
    args: &SseLoadArgs,
    totals: &Totals,
    clients: Vec<tokio::task::JoinHandle<Result<u64>>>,
) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let open = clients.iter().filter(|c| !c.is_finished()).count();
    for client in &clients {
        client.abort();
    }
    let heard = totals.heard.load(Ordering::Relaxed);
    println!(
        "{{\"clients\": {}, \"connected\": {}, \"open_at_end\": {open}, \"heard_keepalive\": {heard}, \"keepalives\": {}, \"events\": {}}}",
        args.clients,
        totals.connected.load(Ordering::Relaxed),
        totals.heartbeats.load(Ordering::Relaxed),
        totals.events.load(Ordering::Relaxed),
    );
    if open < args.clients || heard < args.clients as u64 {
        anyhow::bail!("streams closed or silent during the idle soak");
    }
    Ok(())
}

/// One client; returns how many events it received before "end".
async fn client(
    addr: SocketAddr,
    source: Option<IpAddr>,
    request: String,
    sample: bool,
    totals: &Totals,
    latencies: &Mutex<Vec<u64>>,
) -> Result<u64> {
    let mut stream = match source {
        Some(source) => {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source, 0))?;
            socket.connect(addr).await?
        }
        None => TcpStream::connect(addr).await?,
    };
    stream.set_nodelay(true)?;
    stream.write_all(request.as_bytes()).await?;
    totals.connected.fetch_add(1, Ordering::Relaxed);
    let mut buffer = vec![0u8; 16 * 1024];
    let mut pending = Vec::new();
    let mut last: Option<u64> = None;
    let mut count = 0;
    let mut samples = Vec::new();
    let mut heard = false;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        let comments = buffer[..read].windows(2).filter(|w| w == b"\n:").count() as u64;
        if comments > 0 {
            totals.heartbeats.fetch_add(comments, Ordering::Relaxed);
            if !heard {
                heard = true;
                totals.heard.fetch_add(1, Ordering::Relaxed);
            }
        }
        pending.extend_from_slice(&buffer[..read]);
        let mut start = 0;
        while let Some(position) = pending[start..].windows(6).position(|w| w == b"\ndata:") {
            let line_start = start + position + 6;
            let Some(line_len) = pending[line_start..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let line = &pending[line_start..line_start + line_len];
            start = line_start + line_len;
            if line == b"end" {
                if sample {
                    latencies.lock().await.extend(samples);
                }
                return Ok(count);
            }
            let text = String::from_utf8_lossy(line);
            let Some((n, ts)) = text.split_once(':') else {
                continue;
            };
            let (Ok(n), Ok(ts)) = (n.parse::<u64>(), ts.parse::<u64>()) else {
                continue;
            };
            match last {
                Some(previous) if n == previous + 1 => {}
                Some(previous) if n <= previous => {
                    totals.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                Some(_) => {
                    totals.gaps.fetch_add(1, Ordering::Relaxed);
                }
                None => {}
            }
            last = Some(n);
            count += 1;
            totals.events.fetch_add(1, Ordering::Relaxed);
            let now = now_us();
            totals.first_event_us.fetch_min(now, Ordering::Relaxed);
            totals.last_event_us.fetch_max(now, Ordering::Relaxed);
            if sample {
                samples.push(now_us().saturating_sub(ts));
            }
        }
        pending.drain(..start);
    }
    if sample {
        latencies.lock().await.extend(samples);
    }
    Ok(count)
}
