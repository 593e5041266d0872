//! `longpoll`: opens `--clients` HTTP/1.1 connections that each GET `--path` with
//! `If-None-Match: --etag` and `prefer: wait=60`, waits until they are all held, produces one
//! new record for `--key`, and prints the time from the broker's acknowledgement to each
//! answer (p50, p99, max) and how many answered 200.
//!
//! With `--wake ADDR` (the baseline server) no record is produced: the change is a
//! `POST /wake` to ADDR, and the times start when it is sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// `longpoll` options.
#[derive(Debug, clap::Args)]
pub struct LongpollArgs {
    /// Sluice listener.
    #[arg(long)]
    addr: SocketAddr,
    /// Item path.
    #[arg(long)]
    path: String,
    /// Current ETag of the item, quoted.
    #[arg(long)]
    etag: String,
    /// Waiting clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Bootstrap servers.
    #[arg(long, required_unless_present = "wake")]
    bootstrap: Option<String>,
    /// Topic of the item.
    #[arg(long, required_unless_present = "wake")]
    topic: Option<String>,
    /// Key of the item.
    #[arg(long, required_unless_present = "wake")]
    key: Option<String>,
    /// The baseline server to wake instead of producing a record.
    #[arg(long)]
    wake: Option<SocketAddr>,
}

/// Runs the scenario.
pub async fn run(args: LongpollArgs) -> Result<()> {
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: bench\r\nif-none-match: {}\r\nprefer: wait=60\r\n\r\n",
        args.path, args.etag
    );
    let connected = Arc::new(Barrier::new(args.clients + 1));
    let mut clients = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let (request, connected, addr) = (request.clone(), connected.clone(), args.addr);
        clients.push(tokio::spawn(async move {
            let sent = async {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                stream.write_all(request.as_bytes()).await?;
                anyhow::Ok(stream)
            }
            .await;
            // Everyone reaches the barrier, even a client that failed, so nothing hangs.
            connected.wait().await;
            let mut stream = sent?;
            let mut head = [0u8; 12];
            tokio::time::timeout(Duration::from_secs(90), stream.read_exact(&mut head)).await??;
            let answered = Instant::now();
            let status = String::from_utf8_lossy(&head[9..12]).into_owned();
            anyhow::Ok((status, answered))
        }));
    }
    connected.wait().await;
    // Give the last requests time to reach Sluice and start waiting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The producer lives until every answer is in: dropping it joins its polling thread,
    // which would block this (single) runtime thread while answers arrive.
    let (acked, _producer) = match args.wake {
        Some(wake) => (wake_baseline(wake).await?, None),
        None => {
            let (acked, producer) = produce_change(&args).await?;
            (acked, Some(producer))
        }
    };
    let mut delays = Vec::with_capacity(args.clients);
    let mut ok = 0;
    for client in clients {
        let (status, answered) = client.await??;
        if status == "200" {
            ok += 1;
        }
        delays.push(answered.saturating_duration_since(acked).as_micros() as u64);
    }
    delays.sort_unstable();
    let at = |q: f64| delays[((delays.len() as f64 * q) as usize).min(delays.len() - 1)];
    println!(
        "{{\"clients\": {}, \"ok\": {ok}, \"p50_us\": {}, \"p99_us\": {}, \"max_us\": {}}}",
        args.clients,
        at(0.5),
        at(0.99),
        delays[delays.len() - 1]
    );
    if ok != args.clients {
        bail!(
            "{} of {} waiters did not get 200",
            args.clients - ok,
            args.clients
        );
    }
    Ok(())
}

/// Produces the change for `--key`; returns when the broker acknowledged it, and the
/// producer.
async fn produce_change(args: &LongpollArgs) -> Result<(Instant, FutureProducer)> {
    let (Some(bootstrap), Some(topic), Some(key)) = (&args.bootstrap, &args.topic, &args.key)
    else {
        bail!("--bootstrap, --topic and --key are needed without --wake");
    };
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .set("socket.nagle.disable", "true")
        .create()?;
    let record = FutureRecord::to(topic)
        .key(key)
        .payload("changed")
        .partition(0);
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;
    Ok((Instant::now(), producer))
}

/// Sends `POST /wake` to the baseline server; returns when it was sent.
async fn wake_baseline(addr: SocketAddr) -> Result<Instant> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let sent = Instant::now();
    stream
        .write_all(b"POST /wake HTTP/1.1\r\nhost: bench\r\ncontent-length: 0\r\n\r\n")
        .await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    Ok(sent)
}
