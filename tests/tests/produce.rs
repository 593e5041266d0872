//! One-way produce, end to end against the test broker.

use std::time::{Duration, Instant};

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_tests::{Sluice, broker, closed_port, config};

const PORT: u16 = 8080;
const READ_TIMEOUT: Duration = Duration::from_secs(20);

fn produce_route(path: &str, topic: &str, key: &str, overrides: &str) -> String {
    format!(
        r#"      - when:
          - {{ method: POST, path: "{path}" }}
          - {{ method: PUT, path: "{path}" }}
          - {{ method: DELETE, path: "{path}" }}
        exit: cache
        with:
          capability: produce
          topic: {topic}
          key: "{key}"
          overrides: {{ {overrides} }}"#
    )
}

#[tokio::test]
async fn post_writes_key_headers_and_value_as_configured() -> Result<()> {
    let topic = broker().topic("items").await?;
    let routes = produce_route(
        "/items/{id}",
        &topic,
        "${params.id}",
        r#"x-source: "web-${params.id}", tenant: acme"#,
    );
    let sluice = Sluice::with_config(&config(PORT, "", &routes, "")).await?;
    let reply = sluice
        .send(
            PORT,
            Method::POST,
            "/items/a%2Fb?ignored=1",
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer secret"),
                ("cookie", "session=secret"),
            ],
            r#"{"name":"widget"}"#,
        )
        .await?;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    assert!(reply.body.is_empty());

    let records = broker().read(&topic, 1, READ_TIMEOUT).await?;
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.key.as_deref(), Some(&b"a/b"[..]));
    assert_eq!(record.value.as_deref(), Some(&br#"{"name":"widget"}"#[..]));
    let names: Vec<&str> = record.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["content-type", "x-source", "tenant"],
        "only content-type and overrides are copied"
    );
    assert_eq!(
        record.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(record.header("x-source").as_deref(), Some("web-a/b"));
    assert_eq!(record.header("tenant").as_deref(), Some("acme"));
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn delete_writes_a_tombstone_and_put_a_value() -> Result<()> {
    let topic = broker().topic("items").await?;
    let routes = produce_route("/items/{id}", &topic, "${params.id}", "");
    let sluice = Sluice::with_config(&config(PORT, "", &routes, "")).await?;
    let put = sluice
        .send(PORT, Method::PUT, "/items/7", &[], "v1")
        .await?;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
    let delete = sluice
        .send(PORT, Method::DELETE, "/items/7", &[], "")
        .await?;
    assert_eq!(delete.status, StatusCode::NO_CONTENT, "{delete:?}");

    let records = broker().read(&topic, 2, READ_TIMEOUT).await?;
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(records[1].key.as_deref(), Some(&b"7"[..]));
    assert_eq!(
        records[1].value, None,
        "DELETE must write a tombstone (null value)"
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn idempotency_key_header_becomes_the_key_or_a_uuid() -> Result<()> {
    let topic = broker().topic("events").await?;
    let routes = produce_route("/events", &topic, "${idempotencyKey}", "");
    let sluice = Sluice::with_config(&config(PORT, "", &routes, "")).await?;
    let with_key = sluice
        .send(
            PORT,
            Method::POST,
            "/events",
            &[("idempotency-key", "order-1")],
            "a",
        )
        .await?;
    assert_eq!(with_key.status, StatusCode::NO_CONTENT);
    let without_key = sluice.send(PORT, Method::POST, "/events", &[], "b").await?;
    assert_eq!(without_key.status, StatusCode::NO_CONTENT);

    let records = broker().read(&topic, 2, READ_TIMEOUT).await?;
    assert_eq!(records[0].key.as_deref(), Some(&b"order-1"[..]));
    let generated = String::from_utf8(records[1].key.clone().unwrap_or_default())?;
    assert!(
        uuid::Uuid::parse_str(&generated).is_ok(),
        "expected a UUID key, got {generated:?}"
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn body_over_the_limit_is_413_and_nothing_is_produced() -> Result<()> {
    let topic = broker().topic("limited").await?;
    let routes = produce_route("/events", &topic, "k", "");
    let http_options = "limits: { max-body-bytes: 1024 }";
    let sluice = Sluice::with_config(&config(PORT, http_options, &routes, "")).await?;
    let big = sluice
        .send(PORT, Method::POST, "/events", &[], vec![b'x'; 2000])
        .await?;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{big:?}");
    assert_eq!(big.json()?["code"], "payload_too_large");
    let small = sluice
        .send(PORT, Method::POST, "/events", &[], "small")
        .await?;
    assert_eq!(small.status, StatusCode::NO_CONTENT);

    let records = broker().read(&topic, 1, READ_TIMEOUT).await?;
    assert_eq!(
        records.len(),
        1,
        "the refused body must not reach Kafka: {records:?}"
    );
    assert_eq!(records[0].value.as_deref(), Some(&b"small"[..]));
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn record_too_large_for_kafka_is_413() -> Result<()> {
    let topic = broker().topic("large").await?;
    let routes = produce_route("/events", &topic, "k", "");
    let sluice =
        Sluice::with_config(&config(PORT, "", &routes, r#""message.max.bytes": "1000""#)).await?;
    let reply = sluice
        .send(PORT, Method::POST, "/events", &[], vec![b'x'; 5000])
        .await?;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{reply:?}");
    assert_eq!(reply.json()?["code"], "record_too_large");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn no_route_is_404_with_a_json_body() -> Result<()> {
    let routes = produce_route("/events", "unused", "k", "");
    let sluice = Sluice::with_config(&config(PORT, "", &routes, "")).await?;
    let reply = sluice.send(PORT, Method::GET, "/nowhere", &[], "").await?;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.headers["content-type"], "application/json");
    let body = reply.json()?;
    assert_eq!(body["code"], "not_found");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("/nowhere")),
        "{body}"
    );
    // Right path, wrong method: also no route.
    let reply = sluice.send(PORT, Method::PATCH, "/events", &[], "").await?;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn broker_down_is_503_with_retry_after_within_the_timeout() -> Result<()> {
    let timeout_ms = 1500;
    let text = config(
        PORT,
        "",
        &produce_route("/events", "events", "k", ""),
        &format!(r#""message.timeout.ms": "{timeout_ms}""#),
    )
    .replace(
        broker().bootstrap(),
        &format!("127.0.0.1:{}", closed_port()?),
    );
    let sluice = Sluice::with_config(&text).await?;
    let started = Instant::now();
    let reply = sluice
        .send(PORT, Method::POST, "/events", &[], "lost?")
        .await?;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
    assert_eq!(reply.json()?["code"], "kafka_unavailable");
    // librdkafka reports the timeout itself; Sluice allows it 500 ms more before answering.
    assert!(
        elapsed < Duration::from_millis(timeout_ms + 1000),
        "answered after {elapsed:?}, configured timeout {timeout_ms} ms"
    );
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn echo_route_answers_without_kafka() -> Result<()> {
    let text = config(PORT, "", &produce_route("/events", "events", "k", ""), "").replace(
        broker().bootstrap(),
        &format!("127.0.0.1:{}", closed_port()?),
    );
    let sluice = Sluice::with_config(&text).await?;
    let reply = sluice
        .send(
            PORT,
            Method::POST,
            "/echo",
            &[("content-type", "text/plain")],
            "ping",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(&reply.body[..], b"ping");

    // A body that arrives in several chunks, with pauses between them, comes back whole.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = tokio::net::TcpStream::connect(sluice.addr(PORT).await?).await?;
    raw.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n")
        .await?;
    for chunk in [
        "5\r\nhello\r\n",
        "1\r\n \r\n",
        "5\r\nworld\r\n",
        "0\r\n\r\n",
    ] {
        raw.write_all(chunk.as_bytes()).await?;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut answer)).await??;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello world"), "{answer}");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
