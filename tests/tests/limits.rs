//! Edge limits, from raw sockets: 431, 413, 408 for a slowloris client, request smuggling
//! refused, max-connections, and HTTP/2 rapid reset. Other clients are served meanwhile.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http::{Method, StatusCode};
use sluice_tests::{Sluice, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PORT: u16 = 8080;

async fn sluice(limits: &str) -> Result<Sluice> {
    Sluice::with_config(&config(
        PORT,
        &format!("limits: {{ {limits} }}"),
        "      - when: [ { method: POST, path: /unused } ]\n        exit: cache\n        with: { capability: produce, topic: unused }",
        "",
    ))
    .await
}

/// Sends `bytes` on a new connection and reads until the server closes it or `wait` ends.
async fn raw(sluice: &Sluice, bytes: &[u8], wait: Duration) -> Result<String> {
    let mut stream = TcpStream::connect(sluice.addr(PORT).await?).await?;
    stream.write_all(bytes).await?;
    read_all(&mut stream, wait).await
}

async fn read_all(stream: &mut TcpStream, wait: Duration) -> Result<String> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

async fn echo_ok(sluice: &Sluice) -> Result<()> {
    let reply = sluice
        .send(PORT, Method::POST, "/echo", &[], "ping")
        .await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "echo: {}", reply.status);
    Ok(())
}

#[tokio::test]
async fn oversized_heads_and_bodies_are_refused() -> Result<()> {
    let sluice = sluice("max-header-bytes: 8192, max-body-bytes: 1000").await?;
    let big = "x".repeat(20_000);
    let reply = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("x-big", big.as_str())],
            "hi",
        )
        .await;
    match reply {
        Ok(reply) => assert_eq!(reply.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        Err(error) => panic!("expected 431, got {error:#}"),
    }
    let body = vec![b'a'; 1001];
    let reply = sluice.send(PORT, Method::POST, "/echo", &[], body).await?;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()?["code"], "payload_too_large");
    // A chunked body announced over the limit is refused without reading it all.
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let mut stream = TcpStream::connect(sluice.addr(PORT).await?).await?;
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
            .await?;
        stream.write_all(b"3E9\r\n").await?;
        stream.write_all(&vec![b'a'; 1001]).await?;
        stream.write_all(b"\r\n0\r\n\r\n").await?;
        read_all(&mut stream, Duration::from_secs(2)).await
    })
    .await??;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    echo_ok(&sluice).await
}

#[tokio::test]
async fn a_client_sending_one_byte_per_second_gets_408() -> Result<()> {
    let sluice = sluice("header-read-timeout-ms: 2000").await?;
    let addr = sluice.addr(PORT).await?;
    let slow = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await?;
        let started = Instant::now();
        let head = b"GET /echo HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        for byte in head {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            let mut probe = [0u8; 1];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_secs(1), stream.peek(&mut probe)).await
                && n > 0
            {
                break;
            }
        }
        let answer = read_all(&mut stream, Duration::from_secs(5)).await?;
        Ok::<_, anyhow::Error>((answer, started.elapsed()))
    });
    // Meanwhile others are served.
    for _ in 0..5 {
        echo_ok(&sluice).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (answer, elapsed) = slow.await??;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("request_timeout"), "{answer:?}");
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn smuggling_attempts_get_400_and_the_connection_closes() -> Result<()> {
    let sluice = sluice("").await?;
    let wait = Duration::from_secs(3);
    let cl_te = raw(
        &sluice,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n",
        wait,
    )
    .await?;
    assert!(cl_te.starts_with("HTTP/1.1 400"), "{cl_te}");
    assert!(!cl_te.contains("smuggled"), "{cl_te}");
    assert_eq!(
        cl_te.matches("HTTP/1.1").count(),
        1,
        "nothing after the 400: {cl_te}"
    );
    // On a later request of a kept-alive connection, transfer-encoding wins (RFC 9112
    // section 6.3) and the connection closes after the answer: the smuggled request is never
    // read as a request.
    let te_cl = raw(
        &sluice,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\na\
          POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 40\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n",
        wait,
    )
    .await?;
    assert_eq!(te_cl.matches("HTTP/1.1 ").count(), 2, "{te_cl}");
    assert!(te_cl.contains("connection: close"), "{te_cl}");
    assert!(
        !te_cl.contains("404"),
        "the smuggled GET was not answered: {te_cl}"
    );
    let two_lengths = raw(
        &sluice,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ncontent-length: 5\r\n\r\nabcde",
        wait,
    )
    .await?;
    assert!(two_lengths.starts_with("HTTP/1.1 400"), "{two_lengths}");
    let bad_chunk = raw(
        &sluice,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        wait,
    )
    .await?;
    assert!(!bad_chunk.starts_with("HTTP/1.1 200"), "{bad_chunk}");
    let folded = raw(
        &sluice,
        b"GET /echo HTTP/1.1\r\nhost: x\r\nx-folded: a\r\n b\r\n\r\n",
        wait,
    )
    .await?;
    assert!(folded.starts_with("HTTP/1.1 400"), "{folded}");
    echo_ok(&sluice).await
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_until_one_closes() -> Result<()> {
    let sluice = sluice("max-connections: 3").await?;
    let addr = sluice.addr(PORT).await?;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\na")
            .await?;
        let mut buffer = [0u8; 256];
        let n = stream.read(&mut buffer).await?;
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let over = raw(&sluice, b"", Duration::from_secs(2)).await?;
    assert!(over.starts_with("HTTP/1.1 503"), "{over:?}");
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = raw(
            &sluice,
            b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 1\r\n\r\na",
            Duration::from_secs(2),
        )
        .await?;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "still refused: {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// An HTTP/2 frame header.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = payload.len() as u32;
    let mut out = vec![
        (length >> 16) as u8,
        (length >> 8) as u8,
        length as u8,
        kind,
        flags,
    ];
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn an_h2_rapid_reset_client_gets_goaway_and_others_are_served() -> Result<()> {
    let sluice = sluice("").await?;
    let mut stream = TcpStream::connect(sluice.addr(PORT).await?).await?;
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(0x4, 0, 0, &[])); // SETTINGS
    // HEADERS for GET /echo (HPACK static table: :method GET, :scheme http, :path /, and a
    // literal :authority), immediately cancelled with RST_STREAM, 1,000 times.
    let block = [0x82, 0x86, 0x84, 0x41, 0x01, b'x'];
    for index in 0..1000u32 {
        let id = 2 * index + 1;
        out.extend(frame(0x1, 0x4 | 0x1, id, &block));
        out.extend(frame(0x3, 0, id, &8u32.to_be_bytes())); // RST_STREAM(CANCEL)
    }
    let _ = stream.write_all(&out).await;
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received)).await;
    // Find a GOAWAY frame (type 0x7) in what the server sent.
    let mut at = 0;
    let mut goaway = None;
    while at + 9 <= received.len() {
        let length = (usize::from(received[at]) << 16)
            | (usize::from(received[at + 1]) << 8)
            | usize::from(received[at + 2]);
        if received[at + 3] == 0x7 && at + 9 + 8 <= received.len() {
            let code = &received[at + 13..at + 17];
            goaway = Some(u32::from_be_bytes(code.try_into().context("code")?));
        }
        at += 9 + length;
    }
    assert_eq!(
        goaway,
        Some(0xb),
        "GOAWAY with ENHANCE_YOUR_CALM expected, got {goaway:?}"
    );
    echo_ok(&sluice).await
}

#[tokio::test]
async fn malformed_requests_are_refused_at_once_with_the_right_status() -> Result<()> {
    let sluice = Sluice::with_config(&config(
        PORT,
        "limits: { max-header-bytes: 8192 }",
        "      - when: [ { method: PUT, path: \"/items/{id}\" } ]\n        exit: cache\n        with: { capability: produce, topic: unused, key: \"${params.id}\" }",
        "",
    ))
    .await?;
    // A request line ending in a bare LF: 400 at once, not a 408 after the head timeout.
    let started = Instant::now();
    let answer = raw(
        &sluice,
        b"GET /echo HTTP/1.1\nhost: x\n\n",
        Duration::from_secs(5),
    )
    .await?;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at once"
    );
    // A 100 KB request target: 414, not 431.
    let long = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(100_000));
    let answer = raw(&sluice, long.as_bytes(), Duration::from_secs(5)).await?;
    assert!(
        answer.starts_with("HTTP/1.1 414"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    // Broken percent-encoding and control characters in a parameter: 400 naming it.
    for path in [
        "/items/%ZZ",
        "/items/%",
        "/items/a%A",
        "/items/a%00b",
        "/items/a%0D%0Ab",
    ] {
        let reply = sluice.send(PORT, Method::PUT, path, &[], "v").await?;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        let message = reply.json()?["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("'id'"), "{path}: {message}");
    }
    echo_ok(&sluice).await
}

#[tokio::test]
async fn bodies_past_the_memory_budget_get_503_and_the_budget_comes_back() -> Result<()> {
    let sluice = Sluice::with_options(
        &config(
            PORT,
            "limits: { max-body-bytes: 1048576 }",
            "      - when: [ { method: POST, path: /unused } ]\n        exit: cache\n        with: { capability: produce, topic: unused }",
            "",
        ),
        sluice_dataplane::DataPlaneOptions {
            body_budget_bytes: Some(1024 * 1024),
            ..Default::default()
        },
    )
    .await?;
    let addr = sluice.addr(PORT).await?;
    // Two uploads of 512 KiB stall half way: together they hold the whole budget.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 524288\r\n\r\n")
            .await?;
        stream.write_all(&vec![b'a'; 262_144]).await?;
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = sluice
        .send(PORT, Method::POST, "/echo", &[], vec![b'b'; 100_000])
        .await?;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()?["code"], "overloaded");
    assert!(reply.headers.contains_key("retry-after"));
    // One of them gives up: its share comes back, and the next body is buffered.
    drop(stalled.pop());
    let mut served = false;
    for _ in 0..50 {
        let reply = sluice
            .send(PORT, Method::POST, "/echo", &[], vec![b'b'; 100_000])
            .await?;
        if reply.status == StatusCode::OK {
            assert_eq!(reply.body.len(), 100_000);
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the budget never came back");
    Ok(())
}
