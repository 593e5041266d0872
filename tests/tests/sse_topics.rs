//! `sse-kafka` routes whose topic comes from the path (`topic: ${params.topic}`, Zilla's
//! sse.kafka.fanout shape): a feed per topic opened on demand and shared by its streams,
//! 404 for a topic that does not exist, at most `max-topics` per route, and idle feeds
//! retired so that the bound frees up.

use std::time::Duration;

use anyhow::Result;
use http::StatusCode;
use sluice_dataplane::DataPlaneOptions;
use sluice_tests::{Sluice, broker, eventually};

const PORT: u16 = 7114;
const WAIT: Duration = Duration::from_secs(20);

fn config() -> String {
    format!(
        r#"name: fanout
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_http_server
  north_http_server:
    type: http
    kind: server
    routes:
      - when: [ {{ headers: {{ ":path": "/*" }} }} ]
        exit: north_sse_server
  north_sse_server:
    type: sse
    kind: server
    exit: north_sse_kafka_mapping
  north_sse_kafka_mapping:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: "/{{topic}}" }} ]
        exit: north_kafka_cache_client
        with: {{ topic: "${{params.topic}}", max-topics: 2 }}
  north_kafka_cache_client:
    type: kafka
    kind: cache_client
    exit: south_kafka_cache_server
  south_kafka_cache_server:
    type: kafka
    kind: cache_server
    exit: south_kafka_client
  south_kafka_client:
    type: kafka
    kind: client
    options:
      servers: [ "{servers}" ]
"#,
        servers = broker().bootstrap()
    )
}

#[tokio::test]
async fn each_topic_named_by_the_path_gets_one_shared_feed() -> Result<()> {
    let (first, second, third) = (
        broker().topic("fanout-a").await?,
        broker().topic("fanout-b").await?,
        broker().topic("fanout-c").await?,
    );
    let options = DataPlaneOptions {
        topic_feed_sweep: Some(Duration::from_millis(300)),
        ..DataPlaneOptions::default()
    };
    let sluice = Sluice::with_options(&config(), options).await?;
    let (status, _, mut a1) = sluice.stream(PORT, &format!("/{first}"), &[]).await?;
    assert_eq!(status, StatusCode::OK);
    let (_, _, mut a2) = sluice.stream(PORT, &format!("/{first}"), &[]).await?;
    // A topic the cluster does not have: 404, and nothing stays open for it.
    let (missing, _, _) = sluice.stream(PORT, "/no-such-topic-here", &[]).await?;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(sluice.metric("sluice_topics_opened_on_demand"), Some(1.0));
    let (_, _, mut b1) = sluice.stream(PORT, &format!("/{second}"), &[]).await?;
    assert_eq!(
        sluice.metric("sluice_topics_opened_on_demand"),
        Some(2.0),
        "two streams of one topic share its feed"
    );

    broker().produce(&first, "k", Some(b"to a"), &[]).await?;
    broker().produce(&second, "k", Some(b"to b"), &[]).await?;
    assert_eq!(a1.next(WAIT).await?.data, "to a");
    assert_eq!(a2.next(WAIT).await?.data, "to a");
    assert_eq!(
        b1.next(WAIT).await?.data,
        "to b",
        "each stream sees its own topic"
    );

    // A third topic is over the route's max-topics while both feeds are in use (whether
    // it exists or not: at the bound, no metadata is read for new names).
    let reply = sluice
        .send(
            PORT,
            http::Method::GET,
            &format!("/{third}"),
            &[("accept", "text/event-stream")],
            "",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.headers.contains_key("retry-after"));

    // Once their streams are gone the feeds are retired, and the bound frees up.
    drop((a1, a2, b1));
    eventually(WAIT, "idle feeds retired", || async {
        sluice.metric("sluice_topics_opened_on_demand") == Some(0.0)
    })
    .await?;
    let (status, _, mut c1) = sluice.stream(PORT, &format!("/{third}"), &[]).await?;
    assert_eq!(status, StatusCode::OK);
    broker().produce(&third, "k", Some(b"to c"), &[]).await?;
    assert_eq!(c1.next(WAIT).await?.data, "to c");
    Ok(())
}

/// The same for fetch routes, as Zilla resolves `${params...}` in a fetch route's topic.
#[tokio::test]
async fn fetch_routes_read_the_topic_their_path_names() -> Result<()> {
    let topic = broker().topic("fetched").await?;
    broker()
        .produce(&topic, "a", Some(br#"{"n":1}"#), &[])
        .await?;
    broker()
        .produce(&topic, "b", Some(br#"{"n":2}"#), &[])
        .await?;
    let text = config().replace(
        "    routes:\n      - when: [ { headers: { \":path\": \"/*\" } } ]\n        exit: north_sse_server\n",
        "    routes:\n      - when: [ { headers: { \":path\": \"/items/*\" } } ]\n        exit: north_http_kafka_mapping\n      - when: [ { headers: { \":path\": \"/*\" } } ]\n        exit: north_sse_server\n",
    ) + "  north_http_kafka_mapping:\n    type: http-kafka\n    kind: proxy\n    routes:\n      - when: [ { method: GET, path: \"/items/{topic}\" } ]\n        exit: north_kafka_cache_client\n        with:\n          capability: fetch\n          topic: \"${params.topic}\"\n          max-topics: 5\n          merge: { content-type: application/json, patch: { initial: \"[]\", path: /- } }\n      - when: [ { method: GET, path: \"/items/{topic}/{id}\" } ]\n        exit: north_kafka_cache_client\n        with: { capability: fetch, topic: \"${params.topic}\", filters: [ { key: \"${params.id}\" } ] }\n";
    let sluice = Sluice::with_config(&text).await?;
    let list = sluice
        .send(PORT, http::Method::GET, &format!("/items/{topic}"), &[], "")
        .await?;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.json()?, serde_json::json!([{"n": 1}, {"n": 2}]));
    let item = sluice
        .send(
            PORT,
            http::Method::GET,
            &format!("/items/{topic}/b"),
            &[],
            "",
        )
        .await?;
    assert_eq!(item.json()?, serde_json::json!({"n": 2}));
    let missing = sluice
        .send(
            PORT,
            http::Method::GET,
            "/items/no-such-topic-at-all",
            &[],
            "",
        )
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(sluice.metric("sluice_topics_opened_on_demand") >= Some(1.0));
    Ok(())
}
