//! TLS and SASL between Sluice and Kafka, against a real Tansu broker.
//!
//! Tansu 0.6 cannot terminate TLS itself (its `--cert` and `--key` options refuse to be
//! given together), and with `--authentication` and in-memory storage no SCRAM user can be
//! created (creating one needs an authenticated connection). So:
//! - TLS: the test runs its own Tansu whose advertised address is a TLS-terminating proxy
//!   (rustls, client certificate required) in front of it. Every byte Sluice exchanges with
//!   the broker, bootstrap and partition leader alike, goes over TLS with the test CA and a
//!   client certificate.
//! - SASL: the test runs a Tansu with `--authentication`; Sluice's SCRAM-SHA-512 exchange
//!   reaches it and is answered with "unknown user", which Sluice reports in `/readyz`.

use std::net::SocketAddr;

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use http::{Method, StatusCode};
use sluice_tests::Sluice;
use sluice_tests::tansu::Broker;
use sluice_tests::tls::{TestCa, tls_proxy};
use tokio::net::TcpListener;

const PORT: u16 = 8080;

/// Produce on POST /items; with `stream`, an SSE stream of the topic on /events.
fn config(servers: &str, client_options: &str, topic: &str, stream: bool) -> String {
    let (route, bindings) = if stream {
        (
            "    routes:\n      - when: [ { headers: { \":path\": /events } } ]\n        exit: sse\n",
            format!(
                "  sse: {{ type: sse, kind: server, exit: sse_kafka }}\n  sse_kafka:\n    type: sse-kafka\n    kind: proxy\n    routes:\n      - when: [ {{ path: /events }} ]\n        exit: client\n        with: {{ topic: {topic} }}\n"
            ),
        )
    } else {
        ("", String::new())
    };
    format!(
        r#"
name: kafka-security
bindings:
  tcp: {{ type: tcp, kind: server, options: {{ host: 127.0.0.1, port: {PORT} }}, exit: http }}
  http:
    type: http
    kind: server
{route}    exit: mapping
{bindings}  mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ {{ method: POST, path: /items }} ]
        exit: client
        with: {{ capability: produce, topic: {topic} }}
  client:
    type: kafka
    kind: client
    options:
      servers: [ "{servers}" ]
      properties: {{ message.timeout.ms: 5000 }}
{client_options}
"#
    )
}

// Several threads: the proxy must run while Sluice's start waits on the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_go_to_kafka_and_back_over_mutual_tls() -> Result<()> {
    let ca = TestCa::new()?;
    let server = ca.issue("broker")?;
    let client = ca.issue("sluice-client")?;
    let proxy = TcpListener::bind("127.0.0.1:0").await?;
    let proxy_port = proxy.local_addr()?.port();
    let broker = Broker::start(Some(proxy_port), &[]).await?;
    let handshakes = tls_proxy(
        &ca.pem(),
        &server.certificate,
        &server.key,
        proxy,
        SocketAddr::from(([127, 0, 0, 1], broker.port)),
    )
    .await?;
    broker.create_topic("secure")?;

    let options = format!(
        "      tls: {{ ca: \"{}\", certificate: \"{}\", key: \"{}\" }}",
        ca.ca_file(),
        client.certificate,
        client.key
    );
    let sluice = Sluice::with_config(&config(
        &format!("localhost:{proxy_port}"),
        &options,
        "secure",
        true,
    ))
    .await?;
    let (status, _, mut events) = sluice.stream(PORT, "/events", &[]).await?;
    assert_eq!(status, StatusCode::OK);
    let reply = sluice
        .send(PORT, Method::POST, "/items", &[], "over tls")
        .await?;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    assert_eq!(events.next(Duration::from_secs(20)).await?.data, "over tls");
    assert!(sluice.app.kafka_ready().await.is_ok());
    assert!(
        handshakes.load(Ordering::Relaxed) >= 2,
        "the producer and the consumer each connect through the TLS proxy"
    );

    // Without the client certificate the proxy refuses the handshake: not ready, and the
    // reason says why (produce only: an SSE feed would not start at all).
    let options = format!("      tls: {{ ca: \"{}\" }}", ca.ca_file());
    let refused = Sluice::with_config(&config(
        &format!("localhost:{proxy_port}"),
        &options,
        "secure",
        false,
    ))
    .await?;
    let reply = refused
        .send(PORT, Method::POST, "/items", &[], "refused")
        .await?;
    assert!(reply.status.is_server_error(), "{reply:?}");
    let reason = refused
        .app
        .kafka_ready()
        .await
        .err()
        .context("ready without a client certificate")?
        .to_string();
    assert!(
        reason.contains("kafka cluster 'client'") && reason.contains("SSL"),
        "{reason}"
    );
    Ok(())
}

#[tokio::test]
async fn scram_credentials_reach_the_broker_and_its_refusal_is_reported() -> Result<()> {
    let broker = Broker::start(None, &["--authentication"]).await?;
    let options = "      sasl: { mechanism: scram-sha-512, username: alice, password: not-a-user }";
    // Produce only: an SSE feed would refuse to start without the broker's metadata.
    let text = config(
        &format!("127.0.0.1:{}", broker.port),
        options,
        "anything",
        false,
    );
    let sluice = Sluice::with_config(&text).await?;
    let reply = sluice
        .send(PORT, Method::POST, "/items", &[], "refused")
        .await?;
    assert!(reply.status.is_server_error(), "{:?}", reply);
    let reason = sluice
        .app
        .kafka_ready()
        .await
        .err()
        .context("ready with an unknown user")?
        .to_string();
    // The broker took part in a SCRAM exchange and refused the user: the mechanism and
    // credentials reached it.
    assert!(
        reason.contains("SASL") && reason.contains("unknown-user"),
        "{reason}"
    );
    assert!(
        !reason.contains("not-a-user"),
        "the password is in {reason}"
    );
    Ok(())
}
