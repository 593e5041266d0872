//! `/metrics`: what an operator scraping Prometheus sees after real traffic.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http::{Method, StatusCode};
use sluice_tests::{Sluice, broker, config};

const PORT: u16 = 8080;

/// Produce to and fetch from `topic`, stream it over SSE; records over 1,000 bytes are
/// refused by the Kafka client.
fn metrics_config(topic: &str) -> String {
    let routes = format!(
        r#"      - when: [ {{ method: POST, path: "/items/{{id}}" }} ]
        exit: cache
        with: {{ capability: produce, topic: {topic}, key: "${{params.id}}" }}
      - when: [ {{ method: GET, path: "/items/{{id}}" }} ]
        exit: cache
        with:
          capability: fetch
          topic: {topic}
          filters: [ {{ key: "${{params.id}}" }} ]"#
    );
    config(PORT, "", &routes, "message.max.bytes: 1000")
        .replace(
            "      - when: [ { headers: { \":path\": /echo } } ]\n        exit: echo",
            "      - when: [ { headers: { \":path\": /echo } } ]\n        exit: echo\n      - when: [ { headers: { \":path\": \"/events\" } } ]\n        exit: sse",
        )
        + &format!(
            r#"  sse:
    type: sse
    kind: server
    exit: sse_kafka
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: "/events" }} ]
        exit: cache
        with: {{ topic: {topic} }}
"#
        )
}

/// The value of the series `name{labels}` (exact label text), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

fn expect(text: &str, series: &str) -> Result<f64> {
    sample(text, series).with_context(|| format!("no series {series} in:\n{text}"))
}

#[tokio::test]
async fn requests_streams_waiters_errors_and_lag_are_counted() -> Result<()> {
    let topic = broker().topic("metrics").await?;
    let sluice = Sluice::with_config(&metrics_config(&topic)).await?;
    let produce = |body: &'static str| sluice.send(PORT, Method::POST, "/items/a", &[], body);
    assert_eq!(produce("one").await?.status, StatusCode::NO_CONTENT);
    assert_eq!(produce("two").await?.status, StatusCode::NO_CONTENT);
    let too_large = "x".repeat(2_000);
    let refused = sluice
        .send(PORT, Method::POST, "/items/a", &[], too_large)
        .await?;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    let missing = sluice.send(PORT, Method::GET, "/nowhere", &[], "").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // A long-poll waits on the current value while the scrape runs.
    let mut current = sluice.send(PORT, Method::GET, "/items/a", &[], "").await?;
    for _ in 0..100 {
        if current.body.as_ref() == b"two" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        current = sluice.send(PORT, Method::GET, "/items/a", &[], "").await?;
    }
    assert_eq!(current.body.as_ref(), b"two");
    let etag = current.headers["etag"].to_str()?.to_owned();
    let conditions = [("if-none-match", etag.as_str()), ("prefer", "wait=10")];
    let waiter = sluice.send(PORT, Method::GET, "/items/a", &conditions, "");
    let meanwhile = async {
        sluice.gauge_at_least("sluice_fetch_waiters", 1.0).await?;
        // Held long enough to land above the 0.5 s latency bucket (checked below).
        tokio::time::sleep(Duration::from_millis(600)).await;
        let waiting = sluice.app.render_metrics();
        let (status, _, events) = sluice.stream(PORT, "/events", &[]).await?;
        let during = sluice.app.render_metrics();
        // The waiter is answered by the next record.
        let produced = produce("three").await?;
        anyhow::Ok((waiting, status, during, events, produced))
    };
    let (answered, meanwhile) = tokio::join!(waiter, meanwhile);
    let (waiting, status, during, events, produced) = meanwhile?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        expect(&waiting, "sluice_fetch_waiters")?,
        1.0,
        "one long-poll waits"
    );
    assert_eq!(expect(&during, "sluice_sse_streams_open")?, 1.0);
    assert!(expect(&during, "sluice_http_connections_open")? >= 1.0);
    assert_eq!(produced.status, StatusCode::NO_CONTENT);
    assert_eq!(answered?.status, StatusCode::OK);

    let text = sluice.app.render_metrics();
    let produce_labels = r#"binding="mapping",route="0",kind="produce""#;
    let fetch_labels = r#"binding="mapping",route="1",kind="fetch""#;
    assert_eq!(
        expect(
            &text,
            &format!("sluice_http_requests_total{{{produce_labels},status=\"204\"}}")
        )?,
        3.0
    );
    assert_eq!(
        expect(
            &text,
            &format!("sluice_http_requests_total{{{produce_labels},status=\"413\"}}")
        )?,
        1.0
    );
    assert!(
        expect(
            &text,
            &format!("sluice_http_requests_total{{{fetch_labels},status=\"200\"}}")
        )? >= 2.0
    );
    assert_eq!(
        expect(
            &text,
            r#"sluice_http_requests_total{binding="http",route="",kind="unrouted",status="404"}"#
        )?,
        1.0
    );
    assert_eq!(
        expect(
            &text,
            r#"sluice_http_requests_total{binding="sse_kafka",route="0",kind="sse",status="200"}"#
        )?,
        1.0
    );
    // The long-poll's wait is in its latency: at least one fetch took over 0.5 s.
    let fetches = expect(
        &text,
        &format!("sluice_http_request_duration_seconds_count{{{fetch_labels}}}"),
    )?;
    let quick = expect(
        &text,
        &format!("sluice_http_request_duration_seconds_bucket{{{fetch_labels},le=\"0.5\"}}"),
    )?;
    assert!(
        quick < fetches,
        "the long-poll is above 0.5 s: {quick} of {fetches}"
    );
    assert_eq!(
        expect(
            &text,
            &format!(
                "sluice_kafka_produce_errors_total{{topic=\"{topic}\",code=\"record_too_large\"}}"
            )
        )?,
        1.0
    );
    assert_eq!(expect(&text, "sluice_fetch_waiters")?, 0.0);
    assert_eq!(expect(&text, "sluice_config_applies_total")?, 0.0);

    // librdkafka reports statistics every 5 s; the caught-up cache and feed lag 0.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = sluice.app.render_metrics();
        let cache = sample(
            &text,
            &format!("sluice_kafka_consumer_lag{{purpose=\"cache\",topic=\"{topic}\"}}"),
        );
        let feed = sample(
            &text,
            &format!("sluice_kafka_consumer_lag{{purpose=\"feed\",topic=\"{topic}\"}}"),
        );
        if cache == Some(0.0) && feed == Some(0.0) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no zero consumer lag for the cache and feed after 20 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(events);
    sluice_tests::eventually(
        Duration::from_secs(10),
        "the closed stream uncounted",
        || async { sluice.metric("sluice_sse_streams_open") == Some(0.0) },
    )
    .await?;
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test]
async fn readiness_names_the_kafka_cluster_that_does_not_answer() -> Result<()> {
    let topic = broker().topic("ready").await?;
    let routes = format!(
        "      - when: [ {{ method: POST, path: /items }} ]\n        exit: cache\n        with: {{ capability: produce, topic: {topic} }}"
    );
    let good = Sluice::with_config(&config(PORT, "", &routes, "")).await?;
    good.app
        .kafka_ready()
        .await
        .map_err(anyhow::Error::msg)
        .context("the test broker answers")?;
    good.app.shutdown(Duration::from_secs(1)).await;

    let closed = format!("127.0.0.1:{}", sluice_tests::closed_port()?);
    let text = config(PORT, "", &routes, "").replace(broker().bootstrap(), &closed);
    let bad = Sluice::with_config(&text).await?;
    let reason = bad
        .app
        .kafka_ready()
        .await
        .expect_err("nothing listens on the configured servers")
        .to_string();
    assert!(
        reason.contains("kafka cluster 'client'") && reason.contains(&closed),
        "{reason}"
    );
    // Requests still get their own clear answer meanwhile.
    let reply = bad.send(PORT, Method::GET, "/echo", &[], "").await?;
    assert_eq!(reply.status, StatusCode::OK);
    bad.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
