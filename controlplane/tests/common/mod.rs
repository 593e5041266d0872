//! Helpers of the process-level tests (`crash.rs`, `follow.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One HTTP/1.1 request with the bearer `token` on a new connection to `host:port`; the
/// status and body, or `None` when the server does not answer.
pub fn request(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect((host, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer {token}\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// The port of the `local=127.0.0.1:<port>` field on the first log line of `child` that
/// contains `marker` (e.g. "admin API listening"), within 30 s.
pub fn listening_port(child: &mut std::process::Child, marker: &str) -> u16 {
    use std::io::{BufRead, BufReader};
    #[allow(clippy::expect_used)] // a test helper: no stdout is a broken test set-up
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let wanted = marker.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(&wanted)
                && let Some(port) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("local=127.0.0.1:"))
                    .and_then(|p| p.parse::<u16>().ok())
            {
                let _ = port_tx.send(port);
            }
        }
    });
    port_rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("sluice starts and logs '{marker}' with its address"))
}
