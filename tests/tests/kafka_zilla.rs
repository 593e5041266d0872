//! Kafka client security written as Zilla 2.x writes it, against a real Tansu broker: a
//! `tls` client binding with a vault (trust store and client key) between the kafka client
//! and its tcp client, and SASL credentials from an `inline` guard named by the client's
//! `options.authorization` (scram, and oauthbearer with a bearer token).
//!
//! Tansu terminates no TLS and cannot hold SCRAM users here (see kafka_security.rs): TLS
//! goes through a terminating proxy that requires the client certificate, and the SASL
//! tests check that the exchange, with the guard's credentials, reaches the broker and that
//! its refusal is reported without the secret.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use http::{Method, StatusCode};
use sluice_tests::Sluice;
use sluice_tests::tansu::Broker;
use sluice_tests::tls::tls_proxy;
use tokio::net::TcpListener;

const PORT: u16 = 7114;

fn vault_dir() -> String {
    format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"))
}

/// POST /items produces to `topic`; with `stream`, GET /events streams it. `sections` are
/// top-level sections (guards, vaults), `client` the kafka client's options and exit,
/// `tail` more bindings.
fn config(sections: &str, client: &str, tail: &str, topic: &str, stream: bool) -> String {
    let (route, sse) = if stream {
        (
            "    routes:\n      - when: [ { headers: { \":path\": /events } } ]\n        exit: north_sse_server\n",
            format!(
                "  north_sse_server: {{ type: sse, kind: server, exit: north_sse_kafka_mapping }}\n  north_sse_kafka_mapping:\n    type: sse-kafka\n    kind: proxy\n    routes:\n      - when: [ {{ path: /events }} ]\n        exit: north_kafka_cache_client\n        with: {{ topic: {topic} }}\n"
            ),
        )
    } else {
        ("", String::new())
    };
    format!(
        r#"name: zilla-kafka
{sections}
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_http_server
  north_http_server:
    type: http
    kind: server
{route}    exit: north_http_kafka_mapping
{sse}  north_http_kafka_mapping:
    type: http-kafka
    kind: proxy
    routes:
      - when: [ {{ method: POST, path: /items }} ]
        exit: north_kafka_cache_client
        with: {{ capability: produce, topic: {topic} }}
  north_kafka_cache_client: {{ type: kafka, kind: cache_client, exit: south_kafka_cache_server }}
  south_kafka_cache_server: {{ type: kafka, kind: cache_server, exit: south_kafka_client }}
  south_kafka_client:
    type: kafka
    kind: client
{client}
  south_tcp_client: {{ type: tcp, kind: client }}
{tail}"#
    )
}

// Several threads: the proxy must run while Sluice's start waits on the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_binding_with_a_vault_carries_records_over_mutual_tls() -> Result<()> {
    let dir = vault_dir();
    let proxy = TcpListener::bind("127.0.0.1:0").await?;
    let proxy_port = proxy.local_addr()?.port();
    let broker = Broker::start(Some(proxy_port), &[]).await?;
    let handshakes = tls_proxy(
        &std::fs::read_to_string(format!("{dir}/ca.pem"))?,
        &format!("{dir}/server.pem"),
        &format!("{dir}/server.key"),
        proxy,
        SocketAddr::from(([127, 0, 0, 1], broker.port)),
    )
    .await?;
    broker.create_topic("vaulted")?;
    let vaults = format!(
        "vaults:\n  your_clients:\n    type: filesystem\n    options:\n      trust: {{ store: {dir}/trust.jks, type: jks, password: generated }}\n      keys: {{ store: {dir}/client.p12, type: pkcs12, password: generated }}"
    );
    let client = format!(
        "    options:\n      servers: [ \"localhost:{proxy_port}\" ]\n      properties: {{ message.timeout.ms: 5000 }}\n    exit: south_tls_client"
    );
    let tls = "  south_tls_client:\n    type: tls\n    kind: client\n    vault: your_clients\n    options:\n      trust: [ ca ]\n      keys: [ client ]\n      sni: [ localhost ]\n    exit: south_tcp_client\n";
    let sluice = Sluice::with_config(&config(&vaults, &client, tls, "vaulted", true)).await?;
    let (status, _, mut events) = sluice.stream(PORT, "/events", &[]).await?;
    assert_eq!(status, StatusCode::OK);
    let reply = sluice
        .send(PORT, Method::POST, "/items", &[], "through the vault")
        .await?;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    assert_eq!(
        events.next(Duration::from_secs(20)).await?.data,
        "through the vault"
    );
    assert!(handshakes.load(Ordering::Relaxed) >= 2);

    // The same without the client key: the proxy refuses, and readiness says why
    // (produce only: an SSE feed would not start at all).
    let tls = tls.replace("      keys: [ client ]\n", "");
    let refused = Sluice::with_config(&config(&vaults, &client, &tls, "vaulted", false)).await?;
    let reply = refused
        .send(PORT, Method::POST, "/items", &[], "refused")
        .await?;
    assert!(reply.status.is_server_error(), "{reply:?}");
    let reason = refused
        .app
        .kafka_ready()
        .await
        .err()
        .context("ready without a client key")?
        .to_string();
    assert!(reason.contains("SSL"), "{reason}");
    Ok(())
}

/// A Tansu that authenticates: its refusal of the exchange Sluice started.
async fn refusal(guard: &str, credentials: &str) -> Result<String> {
    let broker = Broker::start(None, &["--authentication"]).await?;
    let guards = format!("guards:\n  kafka_credentials:\n    type: inline\n    options:\n{guard}");
    let client = format!(
        "    options:\n      servers: [ \"127.0.0.1:{}\" ]\n      properties: {{ message.timeout.ms: 5000 }}\n      authorization:\n        kafka_credentials:\n          credentials: {credentials}\n    exit: south_tcp_client",
        broker.port
    );
    // Produce only: an SSE feed would refuse to start without the broker's metadata.
    let sluice = Sluice::with_config(&config(&guards, &client, "", "anything", false)).await?;
    let reply = sluice
        .send(PORT, Method::POST, "/items", &[], "refused")
        .await?;
    assert!(reply.status.is_server_error(), "{reply:?}");
    Ok(sluice
        .app
        .kafka_ready()
        .await
        .err()
        .context("ready against an authenticating broker")?
        .to_string())
}

#[tokio::test]
async fn inline_guard_credentials_reach_the_broker_in_a_scram_exchange() -> Result<()> {
    let reason = refusal(
        "      identity: alice\n      credentials: not-a-user-password\n",
        "{ mechanism: scram-sha-512, username: \"{identity}\", password: \"{credentials}\" }",
    )
    .await?;
    assert!(
        reason.contains("SASL") && reason.contains("unknown-user"),
        "{reason}"
    );
    assert!(!reason.contains("not-a-user-password"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn an_oauthbearer_token_from_an_inline_guard_is_presented() -> Result<()> {
    let reason = refusal(
        "      credentials: opaque-token-value\n",
        "{ mechanism: oauthbearer, token: \"{credentials}\" }",
    )
    .await?;
    // The broker accepted the mechanism and refused the token at the authenticate step:
    // the token reached it.
    assert!(reason.contains("SASL Authentication failed"), "{reason}");
    assert!(!reason.contains("opaque-token-value"), "{reason}");
    Ok(())
}
