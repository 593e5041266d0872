//! `ryw`: read-your-writes on one instance. `--writers` loops run at once, each on its own
//! keep-alive connection and its own key: `PUT /items/<key>` with a new value, then at once
//! `GET /items/<key>`, which must answer exactly that value. Prints one JSON line: reads,
//! stale reads (a `404` or an older value), and the GET latency (p50, p99).

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `ryw` options.
#[derive(Debug, clap::Args)]
pub struct RywArgs {
    /// Sluice listener.
    #[arg(long)]
    addr: SocketAddr,
    /// Loops at once, one key each.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// PUT-then-GET pairs in all.
    #[arg(long, default_value_t = 10_000)]
    total: usize,
}

/// One HTTP/1.1 connection that reads whole answers.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    /// Sends `request` and returns the answer's status and body.
    async fn exchange(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>)> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_ascii_lowercase();
        let status: u16 = head.get(9..12).context("short status line")?.parse()?;
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|v| v.trim().parse::<usize>())
            .transpose()?
            .unwrap_or(0);
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buffer[head_end..head_end + length].to_vec();
        self.buffer.drain(..head_end + length);
        Ok((status, body))
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 4096];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("the connection closed");
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

/// Runs the scenario.
pub async fn run(args: RywArgs) -> Result<()> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let share = args.total.div_ceil(args.writers.max(1));
    let mut loops = Vec::new();
    for writer in 0..args.writers.max(1) {
        let key = format!("ryw-{}-{writer}", &run[..8]);
        loops.push(tokio::spawn(writes_then_reads(args.addr, key, share)));
    }
    let (mut reads, mut stale, mut latencies) = (0, Vec::new(), Vec::new());
    for one in loops {
        let (n, wrong, mut times) = one.await??;
        reads += n;
        stale.extend(wrong);
        latencies.append(&mut times);
    }
    latencies.sort_unstable();
    println!(
        "{{\"reads\": {reads}, \"stale\": {}, \"get_p50_us\": {}, \"get_p99_us\": {}}}",
        stale.len(),
        crate::quantile(&latencies, 0.5),
        crate::quantile(&latencies, 0.99)
    );
    for example in stale.iter().take(5) {
        eprintln!("stale read: {example}");
    }
    Ok(())
}

/// `count` PUT-then-GET pairs on `key`: the reads, the stale ones, the GET latencies (µs).
async fn writes_then_reads(
    addr: SocketAddr,
    key: String,
    count: usize,
) -> Result<(usize, Vec<String>, Vec<u64>)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut connection = Connection {
        stream,
        buffer: Vec::new(),
    };
    let get = format!("GET /items/{key} HTTP/1.1\r\nhost: bench\r\n\r\n");
    let (mut stale, mut latencies) = (Vec::new(), Vec::with_capacity(count));
    for n in 0..count {
        let value = format!("{{\"n\":{n}}}");
        let put = format!(
            "PUT /items/{key} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{value}",
            value.len()
        );
        let (status, _) = connection.exchange(put.as_bytes()).await?;
        if status != 204 {
            bail!("PUT {key} answered {status}");
        }
        let started = Instant::now();
        let (status, body) = connection.exchange(get.as_bytes()).await?;
        latencies.push(started.elapsed().as_micros() as u64);
        if status != 200 || body != value.as_bytes() {
            stale.push(format!(
                "{key} wrote {value}, read {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    Ok((count, stale, latencies))
}
