//! `GET /v1/traffic`: what the Traffic page plots, after real traffic through a Kafka route.

use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use sluice_controlplane::ConfigSource;
use sluice_tests::gateway::{Gateway, PORT};
use sluice_tests::{Sluice, broker, config};

const WAIT: Duration = Duration::from_secs(20);

/// A produce route on `/items/{id}`; records over 1,000 bytes are refused by the client.
fn traffic_config(topic: &str) -> String {
    let routes = format!(
        r#"      - when: [ {{ method: POST, path: "/items/{{id}}" }} ]
        exit: cache
        with: {{ capability: produce, topic: {topic}, key: "${{params.id}}" }}"#
    );
    config(PORT, "", &routes, "message.max.bytes: 1000")
}

async fn post(gateway: &Gateway, path: &str, body: String) -> Result<StatusCode> {
    let addr = gateway.app.local_addr(PORT).await.context("listener")?;
    let request =
        Request::post(format!("http://{addr}{path}")).body(Full::new(Bytes::from(body)))?;
    Ok(Sluice::client().request(request).await?.status())
}

async fn traffic(gateway: &Gateway) -> Result<Value> {
    let reply = gateway.admin(Method::GET, "/v1/traffic", &[], "").await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{reply:?}");
    reply.json()
}

/// Polls the view until `found` picks something out of it.
async fn eventually<T>(
    gateway: &Gateway,
    what: &str,
    found: impl Fn(&Value) -> Option<T>,
) -> Result<(Value, T)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let view = traffic(gateway).await?;
        if let Some(value) = found(&view) {
            return Ok((view, value));
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {WAIT:?}: {view:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The produce route's series.
fn produce_route(view: &Value) -> Option<&Value> {
    view["routes"].as_array()?.iter().find(|route| {
        route["binding"] == "mapping" && route["route"] == 0 && route["kind"] == "produce"
    })
}

/// The first reading where `column` of `series` is above zero.
fn positive(series: &Value, column: &str) -> Option<usize> {
    series[column]
        .as_array()?
        .iter()
        .position(|v| v.as_f64().is_some_and(|v| v > 0.0))
}

#[tokio::test]
async fn the_traffic_view_shows_rates_errors_by_class_latency_and_revisions() -> Result<()> {
    let topic = broker().topic("traffic").await?;
    let dir = std::env::temp_dir().join(format!("sluice-traffic-{}", uuid::Uuid::new_v4()));
    let gateway = Gateway::start(dir, ConfigSource::Text(traffic_config(&topic))).await?;

    // The start's revision is marked at once.
    let view = traffic(&gateway).await?;
    assert_eq!(view["interval_seconds"], 2);
    assert_eq!(view["revisions"][0]["revision"], 1, "{view:#}");

    for n in 0..10 {
        let status = post(&gateway, &format!("/items/{n}"), format!("item {n}")).await?;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let too_large = post(&gateway, "/items/big", "x".repeat(2_000)).await?;
    assert_eq!(too_large, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        post(&gateway, "/nowhere", String::new()).await?,
        StatusCode::NOT_FOUND
    );

    // The next reading holds the eleven answers: a rate, one client error, latencies.
    let (view, at) = eventually(&gateway, "the produce route's requests", |view| {
        positive(produce_route(view)?, "requests_per_second")
    })
    .await?;
    let times = view["times"].as_array().context("times")?.len();
    let route = produce_route(&view).context("produce route")?;
    for column in [
        "requests_per_second",
        "client_errors_per_second",
        "kafka_errors_per_second",
        "gateway_errors_per_second",
        "p50_ms",
        "p99_ms",
    ] {
        assert_eq!(
            route[column].as_array().map(Vec::len),
            Some(times),
            "{column} has one value per reading: {view:#}"
        );
    }
    let seconds = 2.0;
    let requests = route["requests_per_second"][at].as_f64().unwrap_or(0.0) * seconds;
    assert!(
        (9.0..=13.0).contains(&requests),
        "about 11 requests in the reading: {route:#}"
    );
    assert!(
        route["client_errors_per_second"][at]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0,
        "the 413 is a client error: {route:#}"
    );
    assert_eq!(route["kafka_errors_per_second"][at], json!(0.0));
    assert_eq!(route["gateway_errors_per_second"][at], json!(0.0));
    let p50 = route["p50_ms"][at].as_f64().context("p50")?;
    let p99 = route["p99_ms"][at].as_f64().context("p99")?;
    assert!(p50 > 0.0 && p50 <= p99, "{route:#}");
    let unrouted = view["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|route| route["kind"] == "unrouted")
        .context("the 404 is on the server's unrouted row")?;
    assert!(positive(unrouted, "client_errors_per_second").is_some());
    for gauge in [
        "sse_streams",
        "fetch_waiters",
        "reply_waiters",
        "connections",
    ] {
        assert_eq!(view[gauge].as_array().map(Vec::len), Some(times), "{gauge}");
    }

    // A change is marked with its revision.
    let (mut current, _) = gateway.head().await?;
    current["bindings"]["http"]["routes"][0]["when"][0]["headers"][":path"] = json!("/echo2");
    let applied = gateway.put(&current, &[]).await?;
    assert_eq!(applied.status, StatusCode::OK, "{applied:?}");
    let (_, _) = eventually(&gateway, "the revision mark", |view| {
        view["revisions"]
            .as_array()?
            .iter()
            .find(|mark| mark["revision"] == 2 && mark["at"].as_u64().is_some())
            .cloned()
    })
    .await?;
    gateway.stop().await
}
