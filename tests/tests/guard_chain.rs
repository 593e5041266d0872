//! Continuous authorization wherever the guard sits on the way to a stream: on the `http`
//! server's route in front of the `sse` server, or on the `sse` server's own route (Zilla's
//! sse.kafka.fanout.jwt shape), and not only on the `sse-kafka` route. A stream admitted by
//! a guarded route lives on the caller's token: it is challenged before expiry and ends at
//! expiry, over HTTP/1.1 and HTTP/2.

use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use sluice_tests::jwt::{self, RSA1, claims, public_jwk, token};
use sluice_tests::{EventStream, Sluice, broker};

const PORT: u16 = 8080;
const WAIT: Duration = Duration::from_secs(20);

/// Where the `guarded` of the chain is written.
#[derive(Clone, Copy)]
enum GuardOn {
    /// The http server's route that exits to the sse server.
    HttpRoute,
    /// The sse server's route that exits to the sse-kafka binding.
    SseRoute,
}

/// tcp → http (jwt authorization) → sse → sse-kafka, with the only `guarded` of the chain
/// where `guard_on` says; the sse-kafka route carries no guard.
fn chain_config(topic: &str, guard_on: GuardOn) -> String {
    let keys = json!([public_jwk(RSA1, "k1")]).to_string();
    let (http_guard, sse_guard) = match guard_on {
        GuardOn::HttpRoute => ("\n        guarded: { jwt: [ \"read:items\" ] }", ""),
        GuardOn::SseRoute => (
            "",
            "\n      - guarded: { jwt: [ \"read:items\" ] }\n        exit: sse_kafka",
        ),
    };
    let sse_exit = match guard_on {
        GuardOn::HttpRoute => "    exit: sse_kafka\n",
        GuardOn::SseRoute => "    routes:",
    };
    format!(
        r#"name: chain
{guards}
bindings:
  tcp:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: http
  http:
    type: http
    kind: server
    options:
      authorization:
        jwt:
          credentials:
            headers: {{ authorization: "Bearer {{credentials}}" }}
    routes:
      - when: [ {{ headers: {{ ":path": /events }} }} ]{http_guard}
        exit: sse
  sse:
    type: sse
    kind: server
    options: {{ keepalive-seconds: 1 }}
{sse_exit}{sse_guard}
  sse_kafka:
    type: sse-kafka
    kind: proxy
    routes:
      - when: [ {{ path: /events }} ]
        exit: cache
        with: {{ topic: {topic}, start: live }}
  cache:
    type: kafka
    kind: cache_client
    exit: client
  client:
    type: kafka
    kind: client
    options:
      servers: [ "{servers}" ]
"#,
        guards = jwt::guard_section(&keys, "      challenge: 2\n      leeway-seconds: 0\n"),
        servers = broker().bootstrap(),
    )
}

/// Reads events until the stream ends; challenges are allowed, records are not expected.
async fn expect_end(stream: &mut EventStream, within: Duration) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + within;
    let mut challenged = false;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match stream.next(left).await {
            Ok(event) if event.event.as_deref() == Some("challenge") => challenged = true,
            Ok(event) => anyhow::bail!("unexpected event {event:?}"),
            Err(error) if error.to_string().contains("no event in time") => {
                anyhow::bail!("the stream did not end in time: its token expired and it goes on")
            }
            Err(_) => return Ok(challenged),
        }
    }
}

async fn check_chain(guard_on: GuardOn, name: &str) -> Result<()> {
    let topic = broker().topic(name).await?;
    let sluice = Sluice::with_config(&chain_config(&topic, guard_on)).await?;

    // No token: the guarded route refuses.
    let (status, _, _) = sluice.stream(PORT, "/events", &[]).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // HTTP/1.1: the stream carries records, is challenged, and ends when its token expires.
    let auth = format!(
        "Bearer {}",
        token(RSA1, "k1", &claims("alice", "read:items", 4))
    );
    let (status, _, mut http1) = sluice
        .stream(PORT, "/events", &[("authorization", &auth)])
        .await?;
    assert_eq!(status, StatusCode::OK);

    // HTTP/2, on a connection of its own, with the same short token.
    let addr = sluice.addr(PORT).await?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let request = Request::get(format!("http://{addr}/events"))
        .header("accept", "text/event-stream")
        .header("authorization", &auth)
        .body(Full::new(Bytes::new()))?;
    let response = client.request(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let mut h2 = EventStream::new(response.into_body());

    broker()
        .produce(&topic, "k", Some(b"while valid"), &[])
        .await?;
    for stream in [&mut http1, &mut h2] {
        let mut event = stream.next(WAIT).await?;
        while event.event.as_deref() == Some("challenge") {
            event = stream.next(WAIT).await?;
        }
        assert_eq!(event.data, "while valid");
    }
    let (http1_end, h2_end) = tokio::join!(
        expect_end(&mut http1, Duration::from_secs(8)),
        expect_end(&mut h2, Duration::from_secs(8))
    );
    assert!(
        http1_end?,
        "the HTTP/1.1 stream was challenged before it ended"
    );
    assert!(h2_end?, "the HTTP/2 stream was challenged before it ended");
    Ok(())
}

#[tokio::test]
async fn a_stream_guarded_on_the_http_route_ends_when_its_token_expires() -> Result<()> {
    check_chain(GuardOn::HttpRoute, "chain-http").await
}

#[tokio::test]
async fn a_stream_guarded_on_the_sse_server_route_ends_when_its_token_expires() -> Result<()> {
    check_chain(GuardOn::SseRoute, "chain-sse").await
}
