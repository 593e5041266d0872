//! Connections that stop sending do not hold slots: an HTTP/2 preface and then nothing, a
//! bare "PRI ", a request body that stalls half way and an HTTP/2 connection with no stream
//! are closed by their timeouts, and a new client is served afterwards at a small
//! `max-connections`. An open SSE stream is not idle.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use sluice_tests::{EventStream, Sluice, broker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PORT: u16 = 8080;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty HTTP/2 SETTINGS frame.
const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

fn config(topic: &str) -> String {
    format!(
        r#"
name: idle
bindings:
  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {PORT} }}, exit: http }}
  http:
    type: http
    kind: server
    options:
      limits: {{ max-connections: 5, idle-timeout-ms: 1000, body-read-timeout-ms: 1000, header-read-timeout-ms: 1000 }}
    routes:
      - when: [ {{ headers: {{ ":path": /echo }} }} ]
        exit: echo
    exit: sse
  echo: {{ type: echo, kind: server }}
  sse: {{ type: sse, kind: server, exit: sse_kafka }}
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: /events }} ]
        exit: client
        with: {{ topic: {topic}, start: live }}
  client: {{ type: kafka, kind: client, options: {{ servers: [ "{servers}" ] }} }}
"#,
        servers = broker().bootstrap()
    )
}

/// Reads until the server closes the connection; what it sent, or `None` if it is still
/// open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    tokio::time::timeout(wait, stream.read_to_end(&mut out))
        .await
        .ok()
        .map(|_| out)
}

#[tokio::test]
async fn connections_that_stop_sending_are_closed_and_free_their_slots() -> Result<()> {
    let topic = broker().topic("idle").await?;
    let sluice = Sluice::with_config(&config(&topic)).await?;
    let addr = sluice.addr(PORT).await?;

    // One SSE stream over HTTP/2 (through hyper): busy, never idle.
    let h2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let response = h2
        .request(
            http::Request::get(format!("http://{addr}/events"))
                .header("accept", "text/event-stream")
                .body(Full::new(Bytes::new()))?,
        )
        .await?;
    ensure!(response.status() == StatusCode::OK);
    let mut events = EventStream::new(response.into_body());

    let started = Instant::now();
    let mut preface_only = TcpStream::connect(addr).await?;
    preface_only.write_all(PREFACE).await?;
    let mut pri = TcpStream::connect(addr).await?;
    pri.write_all(b"PRI ").await?;
    let mut no_stream = TcpStream::connect(addr).await?;
    no_stream.write_all(PREFACE).await?;
    no_stream.write_all(SETTINGS).await?;
    let mut stalled = TcpStream::connect(addr).await?;
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789")
        .await?;
    // Five connections are open: the listener is full.
    let mut refused = TcpStream::connect(addr).await?;
    refused
        .write_all(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
        .await?;
    let answer = closed_within(&mut refused, Duration::from_secs(5)).await;
    ensure!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with(b"HTTP/1.1 503")),
        "the sixth connection is refused: {answer:?}"
    );

    for (what, stream) in [
        ("an HTTP/2 preface and nothing", &mut preface_only),
        ("a bare PRI", &mut pri),
        ("an HTTP/2 connection with no stream", &mut no_stream),
        ("a stalled body", &mut stalled),
    ] {
        let answer = closed_within(stream, Duration::from_secs(10)).await;
        ensure!(answer.is_some(), "{what}: still open after 10 s");
        if what == "a stalled body" {
            let text = String::from_utf8_lossy(answer.as_deref().unwrap_or_default()).into_owned();
            ensure!(text.starts_with("HTTP/1.1 408"), "{what}: {text:?}");
        }
    }
    println!(
        "four silent connections closed {:.1} s after they opened",
        started.elapsed().as_secs_f64()
    );

    // The slots are free again: a new client is served.
    let reply = sluice
        .send(PORT, Method::POST, "/echo", &[], "ping")
        .await?;
    ensure!(reply.status == StatusCode::OK, "echo: {}", reply.status);

    // A keep-alive connection in use for longer than the idle timeout stays open; once it
    // falls silent it is closed one idle timeout after its last answer, not earlier.
    let mut kept = TcpStream::connect(addr).await?;
    let mut last_answer = Instant::now();
    for round in 0..6 {
        kept.write_all(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        tokio::time::timeout(Duration::from_secs(5), kept.read_exact(&mut head)).await??;
        ensure!(&head == b"HTTP/1.1 200", "round {round}: {head:?}");
        let mut rest = [0u8; 512];
        let _ = tokio::time::timeout(Duration::from_millis(50), kept.read(&mut rest)).await;
        last_answer = Instant::now();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    ensure!(
        closed_within(&mut kept, Duration::from_secs(5))
            .await
            .is_some(),
        "a silent keep-alive connection is still open 5 s after its last answer"
    );
    let silent = last_answer.elapsed();
    ensure!(
        silent >= Duration::from_millis(900),
        "closed {silent:?} after its last answer, before the 1 s idle timeout"
    );
    // The SSE stream outlived every timeout and still delivers.
    broker()
        .produce(&topic, "k", Some(b"still here"), &[])
        .await?;
    ensure!(events.next(Duration::from_secs(20)).await?.data == "still here");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
