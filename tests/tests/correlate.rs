//! Request-response over Kafka: sync, async, polling, idempotent replay, isolation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use http::{Method, StatusCode};
use sluice_tests::{Answer, Responder, Sluice, broker, config};

const PORT: u16 = 8080;
const READ_TIMEOUT: Duration = Duration::from_secs(20);

struct Topics {
    requests: String,
    replies: String,
}

async fn topics() -> Result<Topics> {
    Ok(Topics {
        requests: broker().topic("requests").await?,
        replies: broker().topic("replies").await?,
    })
}

/// POST /items (async-capable, polled at /items;cid=...) and PUT /sync/{id} (sync only).
fn routes(topics: &Topics, timeout_ms: u64) -> String {
    format!(
        r#"      - when:
          - {{ method: POST, path: "/items" }}
          - {{ method: GET, path: "/items;cid={{correlationId}}" }}
        exit: cache
        with:
          capability: produce
          topic: {requests}
          reply-to: {replies}
          reply-timeout-ms: {timeout_ms}
          async:
            location: "/items;cid=${{correlationId}}"
      - when: [ {{ method: PUT, path: "/sync/{{id}}" }} ]
        exit: cache
        with:
          capability: produce
          topic: {requests}
          key: "${{params.id}}"
          reply-to: {replies}
          reply-timeout-ms: {timeout_ms}"#,
        requests = topics.requests,
        replies = topics.replies,
    )
}

fn mapping_options() -> &'static str {
    "\n    options: { max-wait-seconds: 10 }"
}

/// The test configuration with the http-kafka binding's options set.
fn full_config(topics: &Topics, timeout_ms: u64, http_options: &str) -> String {
    config(PORT, http_options, &routes(topics, timeout_ms), "").replace(
        "    type: http-kafka\n    kind: proxy",
        &format!("    type: http-kafka\n    kind: proxy{}", mapping_options()),
    )
}

fn created(record: &sluice_tests::Record) -> Answer {
    let mut body = b"created:".to_vec();
    body.extend(record.value.clone().unwrap_or_default());
    Answer {
        status: Some("201".to_owned()),
        headers: vec![
            ("x-custom".to_owned(), "yes".to_owned()),
            ("content-type".to_owned(), "text/plain".to_owned()),
        ],
        body,
        ..Answer::default()
    }
}

#[tokio::test]
async fn sync_reply_becomes_the_response_and_the_request_record_is_complete() -> Result<()> {
    let topics = topics().await?;
    let _responder = Responder::start(&topics.requests, &topics.replies, created)?;
    let sluice = Sluice::with_config(&full_config(&topics, 10_000, "")).await?;
    let reply = sluice
        .send(
            PORT,
            Method::PUT,
            "/sync/7?v=1",
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer secret"),
                ("cookie", "s=1"),
                ("x-trace", "abc"),
            ],
            r#"{"n":1}"#,
        )
        .await?;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.headers["x-custom"], "yes");
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(&reply.body[..], br#"created:{"n":1}"#);
    assert_eq!(
        reply.headers["content-length"],
        reply.body.len().to_string().as_str()
    );

    let records = broker().read(&topics.requests, 1, READ_TIMEOUT).await?;
    let record = &records[0];
    assert_eq!(record.key.as_deref(), Some(&b"7"[..]));
    assert_eq!(record.header(":method").as_deref(), Some("PUT"));
    assert_eq!(record.header(":path").as_deref(), Some("/sync/7?v=1"));
    assert_eq!(
        record.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(record.header("x-trace").as_deref(), Some("abc"));
    assert_eq!(
        record.header("zilla:reply-to"),
        Some(topics.replies.clone())
    );
    assert!(
        record.header("authorization").is_none(),
        "credentials must never reach Kafka"
    );
    assert!(
        record.header("cookie").is_none(),
        "cookies must never reach Kafka"
    );
    let names: Vec<&str> = record.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"zilla:correlation-id"), "{names:?}");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn reply_without_status_is_200() -> Result<()> {
    let topics = topics().await?;
    let _responder = Responder::start(&topics.requests, &topics.replies, |_| Answer {
        body: b"ok".to_vec(),
        ..Answer::default()
    })?;
    let sluice = Sluice::with_config(&full_config(&topics, 10_000, "")).await?;
    let reply = sluice.send(PORT, Method::PUT, "/sync/1", &[], "x").await?;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(&reply.body[..], b"ok");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn no_reply_is_504_after_the_timeout_or_202_on_an_async_route() -> Result<()> {
    let topics = topics().await?;
    let sluice = Sluice::with_config(&full_config(&topics, 1000, "")).await?;
    let started = Instant::now();
    let reply = sluice.send(PORT, Method::PUT, "/sync/1", &[], "x").await?;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{reply:?}");
    assert_eq!(reply.json()?["code"], "reply_timeout");
    assert!(
        elapsed >= Duration::from_millis(1000),
        "answered before the timeout: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(3000),
        "answered long after the timeout: {elapsed:?}"
    );

    let reply = sluice.send(PORT, Method::POST, "/items", &[], "x").await?;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let location = reply.headers["location"].to_str()?;
    assert!(location.starts_with("/items;cid="), "{location}");
    assert_eq!(sluice.app.reply_waiters(), 0);
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn async_request_is_accepted_then_polled() -> Result<()> {
    let topics = topics().await?;
    let _responder = Responder::start(&topics.requests, &topics.replies, |record| Answer {
        delay: Duration::from_millis(2500),
        ..created(record)
    })?;
    let sluice = Sluice::with_config(&full_config(&topics, 10_000, "")).await?;
    let accepted = sluice
        .send(
            PORT,
            Method::POST,
            "/items",
            &[("prefer", "respond-async")],
            "widget",
        )
        .await?;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    assert_eq!(accepted.headers["preference-applied"], "respond-async");
    assert!(accepted.body.is_empty());
    let location = accepted.headers["location"].to_str()?.to_owned();

    let early = sluice
        .send(PORT, Method::GET, &location, &[("prefer", "wait=1")], "")
        .await?;
    assert_eq!(
        early.status,
        StatusCode::ACCEPTED,
        "the reply is not there yet: {early:?}"
    );
    assert_eq!(early.headers["location"], location.as_str());

    let done = sluice
        .send(PORT, Method::GET, &location, &[("prefer", "wait=5")], "")
        .await?;
    assert_eq!(done.status, StatusCode::CREATED, "{done:?}");
    assert_eq!(&done.body[..], b"created:widget");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn comma_separated_prefer_works_and_polls_reach_another_instance() -> Result<()> {
    let topics = topics().await?;
    let _responder = Responder::start(&topics.requests, &topics.replies, |record| Answer {
        delay: Duration::from_millis(1000),
        ..created(record)
    })?;
    let first = Sluice::with_config(&full_config(&topics, 10_000, "")).await?;
    let second = Sluice::with_config(&full_config(&topics, 10_000, "")).await?;
    let accepted = first
        .send(
            PORT,
            Method::POST,
            "/items",
            &[("prefer", "respond-async, wait=5")],
            "gadget",
        )
        .await?;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    assert_eq!(accepted.headers["preference-applied"], "respond-async");
    let location = accepted.headers["location"].to_str()?.to_owned();
    let reply = second
        .send(PORT, Method::GET, &location, &[("prefer", "wait=5")], "")
        .await?;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(&reply.body[..], b"created:gadget");
    first.app.shutdown(Duration::from_secs(1)).await;
    second.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn idempotent_replay_answers_from_the_reply_without_producing_again() -> Result<()> {
    let topics = topics().await?;
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = counter.clone();
    let _responder = Responder::start(&topics.requests, &topics.replies, move |record| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Answer {
            headers: vec![("x-answer".to_owned(), n.to_string())],
            ..created(record)
        }
    })?;
    let sluice = Sluice::with_config(&full_config(&topics, 10_000, "")).await?;
    let headers = [
        ("idempotency-key", "order-42"),
        ("content-type", "application/json"),
    ];
    let first = sluice
        .send(PORT, Method::PUT, "/sync/42", &headers, "same")
        .await?;
    let retry_headers = [
        ("idempotency-key", "order-42"),
        ("content-type", "application/json"),
        ("user-agent", "retry/2"),
    ];
    let second = sluice
        .send(PORT, Method::PUT, "/sync/42", &retry_headers, "same")
        .await?;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, first.status);
    assert_eq!(second.headers["x-answer"], first.headers["x-answer"]);
    assert_eq!(second.body, first.body);
    let records = broker().read(&topics.requests, 1, READ_TIMEOUT).await?;
    assert_eq!(records.len(), 1, "the replay must not produce: {records:?}");
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn a_thousand_concurrent_requests_each_get_their_own_reply() -> Result<()> {
    let topics = topics().await?;
    let _responder = Responder::start(&topics.requests, &topics.replies, |record| Answer {
        status: Some("200".to_owned()),
        body: [
            b"reply:".as_slice(),
            record.value.as_deref().unwrap_or_default(),
        ]
        .concat(),
        ..Answer::default()
    })?;
    let sluice = Arc::new(Sluice::with_config(&full_config(&topics, 30_000, "")).await?);
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let sluice = sluice.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!("request-{i}");
            let reply = sluice
                .send(PORT, Method::PUT, &format!("/sync/{i}"), &[], body.clone())
                .await?;
            anyhow::ensure!(reply.status == StatusCode::OK, "request {i}: {reply:?}");
            anyhow::ensure!(
                reply.body == format!("reply:{body}").as_bytes(),
                "request {i} got {:?}",
                reply.body
            );
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    assert_eq!(
        sluice.app.reply_waiters(),
        0,
        "every waiter must be released"
    );
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_a_clear_status_and_produces_nothing() -> Result<()> {
    let topics = topics().await?;
    let http_options = "limits: { max-body-bytes: 64 }";
    let sluice = Sluice::with_config(&full_config(&topics, 10_000, http_options)).await?;
    let malformed = sluice
        .send(
            PORT,
            Method::POST,
            "/items",
            &[("prefer", "wait=soon")],
            "x",
        )
        .await?;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{malformed:?}");
    assert_eq!(malformed.json()?["code"], "bad_request");

    let too_big = sluice
        .send(PORT, Method::POST, "/items", &[], vec![b'x'; 100])
        .await?;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);

    let over_cap = "/items;cid=k-0123456789abcdef0123456789abcdef";
    let reply = sluice
        .send(PORT, Method::GET, over_cap, &[("prefer", "wait=11")], "")
        .await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert!(
        reply.json()?["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 10 seconds"))
    );

    let reply = sluice
        .send(PORT, Method::GET, "/items;cid=not-an-id", &[], "")
        .await?;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");

    let started = Instant::now();
    let unknown = sluice
        .send(PORT, Method::GET, over_cap, &[("prefer", "wait=1")], "")
        .await?;
    assert_eq!(
        unknown.status,
        StatusCode::ACCEPTED,
        "an unknown id is not replied yet: {unknown:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(unknown.headers["preference-applied"], "wait=1");

    let produced = broker()
        .read(&topics.requests, 0, Duration::from_secs(2))
        .await?;
    assert!(produced.is_empty(), "nothing may be produced: {produced:?}");
    assert_eq!(sluice.app.reply_waiters(), 0);
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn a_client_that_disconnects_frees_its_waiter() -> Result<()> {
    let topics = topics().await?;
    let sluice = Arc::new(Sluice::with_config(&full_config(&topics, 30_000, "")).await?);
    let waiting = sluice.clone();
    let request =
        tokio::spawn(async move { waiting.send(PORT, Method::PUT, "/sync/1", &[], "x").await });
    sluice_tests::eventually(Duration::from_secs(10), "the request waiting", || async {
        sluice.app.reply_waiters() != 0
    })
    .await?;
    request.abort(); // drops the client connection
    sluice_tests::eventually(
        Duration::from_secs(5),
        "the waiter gone with its client",
        || async { sluice.app.reply_waiters() == 0 },
    )
    .await?;
    Ok(())
}
