//! A configuration change ends exactly the SSE streams whose route it touches.
//!
//! One stream is opened on an SSE route; then every kind of change that does not concern it
//! is applied, one at a time, each followed by a record on the stream's topic: the stream
//! must deliver it as its very next event, with no reconnect notice and no replay. Then
//! each change that does concern it (its path, topic, filters, start position, guard) must
//! end it cleanly.

#![allow(clippy::expect_used)] // the test's own configuration always has these arrays

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use sluice_controlplane::app::{ChangeOutcome, ConfigChange};
use sluice_tests::{EventStream, Sluice, broker};

const PORT: u16 = 8080;

fn base(stream_topic: &str, other_topic: &str) -> Value {
    json!({
        "name": "stream-changes",
        "guards": {
            "jwt": { "type": "jwt", "options": { "issuer": "https://auth.test", "audience": "sluice",
                "keys": [ sluice_tests::jwt::public_jwk(sluice_tests::jwt::RSA1, "k1") ] } }
        },
        "bindings": {
            "tcp": { "type": "tcp", "kind": "server", "options": { "host": "127.0.0.1", "port": PORT }, "exit": "http" },
            "http": {
                "type": "http", "kind": "server",
                "options": { "authorization": { "jwt": { "credentials": {
                    "headers": { "authorization": "Bearer {credentials}" } } } } },
                "routes": [
                    { "when": [ { "headers": { ":path": "/echo" } } ], "exit": "echo" },
                    { "when": [ { "headers": { ":path": "/events/*" } } ], "exit": "sse" }
                ],
                "exit": "mapping"
            },
            "echo": { "type": "echo", "kind": "server" },
            "sse": { "type": "sse", "kind": "server", "exit": "sse_kafka" },
            "sse_kafka": {
                "type": "sse-kafka", "kind": "proxy",
                "routes": [
                    { "when": [ { "path": "/events/watched" } ], "exit": "client",
                      "with": { "topic": stream_topic, "start": "live" } },
                    { "when": [ { "path": "/events/other" } ], "exit": "client",
                      "with": { "topic": other_topic } }
                ]
            },
            "mapping": {
                "type": "http-kafka", "kind": "proxy",
                "routes": [
                    { "when": [ { "method": "POST", "path": "/produce" } ], "exit": "client",
                      "with": { "capability": "produce", "topic": other_topic } }
                ]
            },
            "client": { "type": "kafka", "kind": "client",
                "options": { "servers": [ broker().bootstrap() ] } }
        }
    })
}

fn mapping_routes(config: &mut Value) -> &mut Vec<Value> {
    config["bindings"]["mapping"]["routes"]
        .as_array_mut()
        .expect("routes")
}

fn sse_routes(config: &mut Value) -> &mut Vec<Value> {
    config["bindings"]["sse_kafka"]["routes"]
        .as_array_mut()
        .expect("routes")
}

type Change = (&'static str, Box<dyn Fn(&mut Value)>);

/// Changes that do not concern the watched stream, applied in this order.
fn unrelated(other_topic: &str, reply_topic: &str) -> Vec<Change> {
    let (other, reply) = (other_topic.to_owned(), reply_topic.to_owned());
    let (other2, other3) = (other.clone(), other.clone());
    vec![
        (
            "add a produce route",
            Box::new(move |c| {
                mapping_routes(c).push(json!({ "when": [ { "method": "PUT", "path": "/items/{id}" } ],
                "exit": "client", "with": { "capability": "produce", "topic": other, "key": "${params.id}" } }));
            }),
        ),
        (
            "change a produce route's topic",
            Box::new(|c| {
                mapping_routes(c)[0]["with"]["topic"] = json!("renamed-produce-topic");
            }),
        ),
        (
            "remove a produce route",
            Box::new(|c| {
                mapping_routes(c).remove(0);
            }),
        ),
        (
            "add a fetch route",
            Box::new(move |c| {
                mapping_routes(c).push(json!({ "when": [ { "method": "GET", "path": "/items" } ],
                "exit": "client", "with": { "capability": "fetch", "topic": other2 } }));
            }),
        ),
        (
            "add a request-response route",
            Box::new(move |c| {
                mapping_routes(c).push(json!({ "when": [ { "method": "POST", "path": "/ask" } ],
                "exit": "client", "with": { "capability": "produce", "topic": "asks", "reply-to": reply } }));
            }),
        ),
        (
            "add an echo route",
            Box::new(|c| {
                c["bindings"]["http"]["routes"]
                    .as_array_mut()
                    .expect("routes")
                    .insert(
                        0,
                        json!({ "when": [ { "headers": { ":path": "/echo2" } } ], "exit": "echo" }),
                    );
            }),
        ),
        (
            "add another sse route",
            Box::new(move |c| {
                sse_routes(c).push(
                    json!({ "when": [ { "path": "/events/third" } ], "exit": "client",
                "with": { "topic": other3, "start": "live" } }),
                );
            }),
        ),
        (
            "change another sse route",
            Box::new(|c| {
                sse_routes(c)[1]["with"]["start"] = json!("live");
            }),
        ),
        (
            "remove another sse route",
            Box::new(|c| {
                sse_routes(c).remove(2);
            }),
        ),
        (
            "add a guard",
            Box::new(|c| {
                c["guards"]["second"] = json!({ "type": "jwt", "options": { "issuer": "https://other.test",
                "keys": [ sluice_tests::jwt::public_jwk(sluice_tests::jwt::RSA2, "k2") ] } });
            }),
        ),
        (
            "change limits",
            Box::new(|c| {
                c["bindings"]["http"]["options"]["limits"] = json!({ "max-body-bytes": 4096 });
            }),
        ),
        (
            "add a listener",
            Box::new(|c| {
                c["bindings"]["tcp2"] = json!({ "type": "tcp", "kind": "server",
                "options": { "host": "127.0.0.1", "port": 9090 }, "exit": "http" });
            }),
        ),
        (
            "add cors",
            Box::new(|c| {
                c["bindings"]["http"]["options"]["access-control"] =
                    json!({ "policy": "cross-origin" });
            }),
        ),
        (
            "change a producer-only kafka property",
            Box::new(|c| {
                c["bindings"]["client"]["options"]["properties"] = json!({ "linger.ms": 5 });
            }),
        ),
    ]
}

/// Changes that concern the watched stream: each must end it.
fn related(new_topic: &str) -> Vec<Change> {
    let (topic, topic2) = (new_topic.to_owned(), new_topic.to_owned());
    vec![
        (
            "change its path",
            Box::new(move |c| {
                sse_routes(c)[0]["when"][0]["path"] = json!("/events/watched-too");
                sse_routes(c).push(
                    json!({ "when": [ { "path": "/events/watched" } ], "exit": "client",
                "with": { "topic": topic2, "start": "live" } }),
                );
            }),
        ),
        (
            "change its topic",
            Box::new(move |c| {
                sse_routes(c)[0]["with"]["topic"] = json!(topic);
            }),
        ),
        (
            "add a filter",
            Box::new(|c| {
                sse_routes(c)[0]["with"]["filters"] = json!([ { "key": "only-this" } ]);
            }),
        ),
        (
            "change its start position",
            Box::new(|c| {
                sse_routes(c)[0]["with"]["start"] = json!("historical");
            }),
        ),
        (
            "guard it",
            Box::new(|c| {
                sse_routes(c)[0]["guarded"] = json!({ "jwt": [] });
            }),
        ),
    ]
}

async fn apply(sluice: &Sluice, config: &Value, what: &str) -> Result<()> {
    let outcome = sluice
        .app
        .change(ConfigChange {
            config: config.clone(),
            author: "test".to_owned(),
            message: what.to_owned(),
            expected: None,
            dry_run: false,
            action: "test".to_owned(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{what}: {e:?}"))?;
    ensure!(
        matches!(outcome, ChangeOutcome::Applied(_)),
        "{what}: not applied"
    );
    Ok(())
}

async fn open(sluice: &Sluice) -> Result<EventStream> {
    let (status, _, stream) = sluice.stream(PORT, "/events/watched", &[]).await?;
    ensure!(status == http::StatusCode::OK, "stream answered {status}");
    Ok(stream)
}

#[tokio::test]
async fn unrelated_changes_end_no_stream_and_related_ones_end_it() -> Result<()> {
    let stream_topic = broker().topic("watched").await?;
    let other_topic = broker().topic("other").await?;
    let reply_topic = broker().topic("replies").await?;
    let new_topic = broker().topic("moved").await?;
    let mut config = base(&stream_topic, &other_topic);
    let sluice = Sluice::with_store(&config.to_string()).await?;
    let mut stream = open(&sluice).await?;
    // The live start is taken when the stream opens; a first record proves it is reading.
    broker()
        .produce(&stream_topic, "k", Some(b"before"), &[])
        .await?;
    ensure!(stream.next(Duration::from_secs(20)).await?.data == "before");

    for (index, (what, change)) in unrelated(&other_topic, &reply_topic).iter().enumerate() {
        change(&mut config);
        apply(&sluice, &config, what).await?;
        let value = format!("after change {index}");
        broker()
            .produce(&stream_topic, "k", Some(value.as_bytes()), &[])
            .await?;
        let event = stream
            .next(Duration::from_secs(20))
            .await
            .with_context(|| format!("'{what}' ended the stream"))?;
        ensure!(
            event.data == value,
            "after '{what}' the stream delivered {:?} instead of {value:?} (a replay?)",
            event.data
        );
        ensure!(
            !stream.comments.iter().any(|c| c.contains("reconnect")),
            "'{what}' asked the stream to reconnect: {:?}",
            stream.comments
        );
    }
    println!(
        "{} unrelated changes: the stream went on",
        unrelated(&other_topic, &reply_topic).len()
    );

    let original = base(&stream_topic, &other_topic);
    apply(&sluice, &original, "back to the start").await?;
    for (what, change) in related(&new_topic) {
        let mut stream = open(&sluice).await?;
        let mut changed = original.clone();
        change(&mut changed);
        apply(&sluice, &changed, what).await?;
        let ended = loop {
            match stream.next(Duration::from_secs(10)).await {
                Ok(_) => continue,
                Err(error) => break error.to_string(),
            }
        };
        ensure!(
            ended.contains("the stream ended"),
            "'{what}' did not end the stream: {ended}"
        );
        ensure!(
            stream.comments.iter().any(|c| c.contains("reconnect")),
            "'{what}' ended the stream without its notice: {:?}",
            stream.comments
        );
        apply(&sluice, &original, "back to the start").await?;
    }
    sluice.app.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
