//! Server-Sent Events from Kafka: format, filters, resume, live start, fan-out, slow clients.

use std::time::Duration;

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_tests::{EventStream, Sluice, broker, config};

const PORT: u16 = 8080;
const WAIT: Duration = Duration::from_secs(20);

/// An http server whose `/events...` paths go to SSE on `topic`, the rest to http-kafka.
fn sse_config(topic: &str) -> String {
    let base = config(
        PORT,
        "",
        "      - when: [ { method: POST, path: /unused } ]\n        exit: cache\n        with: { capability: produce, topic: unused }",
        "",
    );
    base.replace(
        "      - when: [ { headers: { \":path\": /echo } } ]\n        exit: echo",
        "      - when: [ { headers: { \":path\": /echo } } ]\n        exit: echo\n      - when: [ { headers: { \":path\": \"/events*\" } } ]\n        exit: sse",
    ) + &format!(
        r#"  sse:
    type: sse
    kind: server
    options: {{ retry: 1500, keepalive-seconds: 1 }}
    exit: sse_kafka
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: "/events" }} ]
        exit: cache
        with: {{ topic: {topic} }}
      - when: [ {{ path: "/events/live" }} ]
        exit: cache
        with: {{ topic: {topic}, start: live }}
      - when: [ {{ path: "/events/keyed" }} ]
        exit: cache
        with: {{ topic: {topic}, event: {{ id: '["${{base64(key)}}","${{etag}}"]' }} }}
      - when: [ {{ path: "/events/key/{{key}}" }} ]
        exit: cache
        with: {{ topic: {topic}, filters: [ {{ key: "${{params.key}}" }} ] }}
"#
    )
}

async fn open(sluice: &Sluice, path: &str, headers: &[(&str, &str)]) -> Result<EventStream> {
    let (status, response_headers, stream) = sluice.stream(PORT, path, headers).await?;
    anyhow::ensure!(status == StatusCode::OK, "{path}: {status}");
    anyhow::ensure!(response_headers["content-type"] == "text/event-stream");
    Ok(stream)
}

#[tokio::test]
async fn events_carry_ids_multi_line_data_and_delete_events() -> Result<()> {
    let topic = broker().topic("sse").await?;
    broker()
        .produce(&topic, "a", Some(b"line one\nline two"), &[])
        .await?;
    broker().produce(&topic, "k", None, &[]).await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let mut stream = open(&sluice, "/events", &[]).await?;
    let first = stream.next(WAIT).await?;
    assert_eq!(first.data, "line one\nline two");
    assert!(
        first.id.as_deref().is_some_and(|id| !id.is_empty()),
        "{first:?}"
    );
    assert_eq!(first.event, None);
    let deleted = stream.next(WAIT).await?;
    assert_eq!(deleted.event.as_deref(), Some("delete"));
    assert_eq!(deleted.data, "aw==", "base64url of the key 'k'");
    assert_eq!(stream.retry.as_deref(), Some("1500"));
    // Keep-alive comments arrive while nothing happens.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    broker().produce(&topic, "b", Some(b"later"), &[]).await?;
    assert_eq!(stream.next(WAIT).await?.data, "later");
    assert!(
        !stream.comments.is_empty(),
        "a keep-alive comment was expected"
    );

    let mut keyed = open(&sluice, "/events/keyed", &[]).await?;
    let event = keyed.next(WAIT).await?;
    let id: Vec<Option<String>> = serde_json::from_str(event.id.as_deref().unwrap_or_default())?;
    assert_eq!(id[0].as_deref(), Some("YQ=="), "base64url of the key 'a'");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn key_filter_from_a_path_param_and_live_start() -> Result<()> {
    let topic = broker().topic("sse-filter").await?;
    broker().produce(&topic, "x", Some(b"x-old"), &[]).await?;
    broker().produce(&topic, "y", Some(b"y-old"), &[]).await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let mut only_y = open(&sluice, "/events/key/y", &[]).await?;
    assert_eq!(only_y.next(WAIT).await?.data, "y-old");
    let mut live = open(&sluice, "/events/live", &[]).await?;
    broker().produce(&topic, "x", Some(b"x-new"), &[]).await?;
    broker().produce(&topic, "y", Some(b"y-new"), &[]).await?;
    assert_eq!(
        live.next(WAIT).await?.data,
        "x-new",
        "a live stream skips history"
    );
    assert_eq!(live.next(WAIT).await?.data, "y-new");
    assert_eq!(only_y.next(WAIT).await?.data, "y-new");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn resume_with_last_event_id_has_no_gaps_or_duplicates_on_any_instance() -> Result<()> {
    let topic = broker().topic("sse-resume").await?;
    for i in 0..1000 {
        broker()
            .produce(
                &topic,
                &format!("k{i}"),
                Some(i.to_string().as_bytes()),
                &[],
            )
            .await?;
    }
    let first = Sluice::with_config(&sse_config(&topic)).await?;
    let mut stream = open(&first, "/events", &[]).await?;
    let mut last_id = String::new();
    for i in 0..500 {
        let event = stream.next(WAIT).await?;
        assert_eq!(event.data, i.to_string());
        last_id = event.id.unwrap_or_default();
    }
    drop(stream);
    let mut resumed = open(&first, "/events", &[("last-event-id", &last_id)]).await?;
    assert_eq!(
        resumed.next(WAIT).await?.data,
        "500",
        "resume starts right after the last id"
    );

    let second = Sluice::with_config(&sse_config(&topic)).await?;
    let query = format!("/events?lastEventId={last_id}");
    let mut elsewhere = open(&second, &query, &[]).await?;
    for i in 500..1000 {
        assert_eq!(
            elsewhere.next(WAIT).await?.data,
            i.to_string(),
            "no gap, no duplicate"
        );
    }
    first.app.shutdown(Duration::from_secs(1)).await;
    second.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn a_hundred_streams_all_receive_every_record() -> Result<()> {
    let topic = broker().topic("sse-fanout").await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let mut streams = Vec::new();
    for _ in 0..100 {
        streams.push(open(&sluice, "/events", &[]).await?);
    }
    for i in 0..20 {
        broker()
            .produce(
                &topic,
                &format!("k{i}"),
                Some(format!("v{i}").as_bytes()),
                &[],
            )
            .await?;
    }
    for stream in &mut streams {
        for i in 0..20 {
            assert_eq!(stream.next(WAIT).await?.data, format!("v{i}"));
        }
    }
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn fifty_streams_share_one_http2_connection() -> Result<()> {
    let topic = broker().topic("sse-h2").await?;
    broker().produce(&topic, "k", Some(b"over h2"), &[]).await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let addr = sluice.addr(PORT).await?;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await?;
    tokio::spawn(connection);
    let mut streams = Vec::new();
    for _ in 0..50 {
        let mut sender = sender.clone();
        let request = http::Request::get(format!("http://{addr}/events"))
            .header("accept", "text/event-stream")
            .body(http_body_util::Empty::<bytes::Bytes>::new())?;
        let response = sender.send_request(request).await?;
        assert_eq!(response.status(), StatusCode::OK);
        streams.push(EventStream::new(response.into_body()));
    }
    for stream in &mut streams {
        assert_eq!(stream.next(WAIT).await?.data, "over h2");
    }
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn a_stalled_client_is_dropped_while_others_keep_receiving() -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let topic = broker().topic("sse-stall").await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let addr = sluice.addr(PORT).await?;
    // A client that sends its request and never reads.
    let mut stalled = tokio::net::TcpStream::connect(addr).await?;
    stalled
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n")
        .await?;
    let mut healthy = open(&sluice, "/events", &[]).await?;
    let value = vec![b'x'; 64 * 1024];
    let before = sluice.app.sse_dropped();
    let mut produced = 0;
    while sluice.app.sse_dropped() == before && produced < 1000 {
        broker().produce(&topic, "k", Some(&value), &[]).await?;
        produced += 1;
        assert_eq!(healthy.next(WAIT).await?.data.len(), value.len());
    }
    assert!(
        sluice.app.sse_dropped() > before,
        "the stalled client was never dropped"
    );
    broker().produce(&topic, "k", Some(b"after"), &[]).await?;
    loop {
        let event = healthy.next(WAIT).await?;
        if event.data == "after" {
            break;
        }
    }
    drop(stalled);
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn wrong_method_accept_or_id_get_clear_statuses() -> Result<()> {
    let topic = broker().topic("sse-bad").await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let post = sluice.send(PORT, Method::POST, "/events", &[], "x").await?;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET");
    let json = sluice
        .send(
            PORT,
            Method::GET,
            "/events",
            &[("accept", "application/json")],
            "",
        )
        .await?;
    assert_eq!(json.status, StatusCode::NOT_ACCEPTABLE);
    assert!(
        json.json()?["message"]
            .as_str()
            .is_some_and(|m| m.contains("text/event-stream"))
    );
    let long = "A".repeat(255);
    let (status, _, _) = sluice
        .stream(PORT, "/events", &[("last-event-id", &long)])
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    broker().produce(&topic, "k", Some(b"first"), &[]).await?;
    let mut garbage = open(&sluice, "/events", &[("last-event-id", "not-an-id")]).await?;
    assert_eq!(garbage.next(WAIT).await?.data, "first");
    assert!(
        garbage
            .comments
            .iter()
            .any(|c| c.contains("last-event-id not understood")),
        "an id that cannot be read is said so: {:?}",
        garbage.comments
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn shutdown_ends_open_streams_promptly() -> Result<()> {
    let topic = broker().topic("sse-shutdown").await?;
    broker().produce(&topic, "k", Some(b"one"), &[]).await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let mut stream = open(&sluice, "/events", &[]).await?;
    assert_eq!(stream.next(WAIT).await?.data, "one");
    let started = std::time::Instant::now();
    sluice.app.shutdown(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown waited {:?} for an open stream",
        started.elapsed()
    );
    assert!(
        stream.next(Duration::from_secs(2)).await.is_err(),
        "the stream must end"
    );
    Ok(())
}

#[tokio::test]
async fn a_resume_older_than_the_window_says_what_was_skipped() -> Result<()> {
    let topic = broker().topic("sse-window").await?;
    let value = vec![b'v'; 64 * 1024];
    for _ in 0..40 {
        broker().produce(&topic, "k", Some(&value), &[]).await?;
    }
    let text = sse_config(&topic).replace(
        "      properties: {  }",
        "      properties: {  }\n      cache-max-bytes: 1048576",
    );
    let sluice = Sluice::with_config(&text).await?;
    // {partition 0: next offset 1}: everything after the first record.
    let mut stream = open(&sluice, "/events", &[("last-event-id", "AQIAAg==")]).await?;
    stream.next(WAIT).await?;
    assert!(
        stream
            .comments
            .iter()
            .any(|c| c.contains("no longer held in memory")),
        "the skipped records must be announced: {:?}",
        stream.comments
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

/// Reads one HTTP/1.1 response with a `content-length` body from `stream`.
async fn read_response(stream: &mut tokio::net::TcpStream) -> Result<(u16, String, String)> {
    use tokio::io::AsyncReadExt;
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk)).await??;
        anyhow::ensure!(n > 0, "closed before a response head");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status in {head}"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no content-length in {head}"))?;
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk)).await??;
        anyhow::ensure!(n > 0, "closed before the body");
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string();
    Ok((status, head, body))
}

#[tokio::test]
async fn a_refused_first_stream_request_is_answered_and_the_connection_goes_on() -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let topic = broker().topic("sse-refused").await?;
    let sluice = Sluice::with_config(&sse_config(&topic)).await?;
    let mut stream = tokio::net::TcpStream::connect(sluice.addr(PORT).await?).await?;
    // The first request asks for an event stream with an id too long to be one: the fast
    // path answers 400 itself, with the JSON error every other path gives.
    let long = "A".repeat(255);
    stream
        .write_all(
            format!("GET /events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nlast-event-id: {long}\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let (status, head, body) = read_response(&mut stream).await?;
    assert_eq!(status, 400, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let error: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(error["code"], "bad_request", "{body}");
    // No route for this path: 404 from the fast path, on a fresh connection.
    let mut other = tokio::net::TcpStream::connect(sluice.addr(PORT).await?).await?;
    other
        .write_all(
            b"GET /events/nowhere/at/all HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n",
        )
        .await?;
    let (status, head, _) = read_response(&mut other).await?;
    assert_eq!(status, 404, "{head}");
    // The first connection goes on: its next request is served as usual.
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello")
        .await?;
    let (status, head, body) = read_response(&mut stream).await?;
    assert_eq!((status, body.as_str()), (200, "hello"), "{head}");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
