//! An `sse` server exiting to an `sse` client: the event stream of an upstream SSE server
//! relayed (the shape of Zilla's sse.proxy.jwt example, written anew), `Last-Event-ID`
//! passed upstream, and the relayed stream living on the caller's token: challenged before
//! expiry and ended at expiry.

use std::convert::Infallible;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use sluice_tests::Sluice;
use sluice_tests::jwt::{self, RSA1, claims, public_jwk, token};
use tokio::net::TcpListener;

const PORT: u16 = 7143;

type Reply = http::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

/// An upstream SSE server: on `/events`, a first event naming the `last-event-id` it was
/// given, then `tick N` every 200 ms, for ever.
async fn upstream() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|request: http::Request<Incoming>| async move {
                        let resumed = request
                            .headers()
                            .get("last-event-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("none")
                            .to_owned();
                        let first = Bytes::from(format!("id:0\ndata:resumed after {resumed}\n\n"));
                        let ticks = futures_util::stream::unfold(
                            (Some(first), 1u32),
                            |(first, n)| async move {
                                if let Some(first) = first {
                                    return Some((
                                        Ok::<_, Infallible>(Frame::data(first)),
                                        (None, n),
                                    ));
                                }
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                let event = format!("id:{n}\ndata:tick {n}\n\n");
                                Some((Ok(Frame::data(Bytes::from(event))), (None, n + 1)))
                            },
                        );
                        let mut response: Reply =
                            http::Response::new(StreamBody::new(ticks).boxed());
                        response.headers_mut().insert(
                            "content-type",
                            http::HeaderValue::from_static("text/event-stream"),
                        );
                        Ok::<_, Infallible>(response)
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(port)
}

fn config(upstream: u16) -> String {
    let keys = json!([public_jwk(RSA1, "k1")]).to_string();
    format!(
        r#"name: sse-proxy
{guards}
bindings:
  north_tcp_server:
    type: tcp
    kind: server
    options: {{ host: 127.0.0.1, port: {PORT} }}
    exit: north_http_server
  north_http_server:
    type: http
    kind: server
    options:
      authorization:
        jwt:
          credentials:
            headers: {{ authorization: "Bearer {{credentials}}" }}
            query: {{ access_token: "{{credentials}}" }}
    routes:
      - when: [ {{ headers: {{ ":path": /events }} }} ]
        exit: north_sse_server
      - when: [ {{ headers: {{ ":path": /open }} }} ]
        exit: open_sse_server
  north_sse_server:
    type: sse
    kind: server
    routes:
      - guarded: {{ jwt: [ "proxy:stream" ] }}
        exit: south_sse_client
  open_sse_server:
    type: sse
    kind: server
    exit: south_sse_client
  south_sse_client:
    type: sse
    kind: client
    exit: south_http_client
  south_http_client:
    type: http
    kind: client
    options: {{ versions: [ http/1.1 ] }}
    exit: south_tcp_client
  south_tcp_client:
    type: tcp
    kind: client
    options: {{ host: 127.0.0.1, port: {upstream} }}
"#,
        guards = jwt::guard_section(&keys, "      challenge: 2\n      leeway-seconds: 0\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_events_are_relayed_with_the_last_event_id() -> Result<()> {
    let sluice = Sluice::with_config(&config(upstream().await?)).await?;
    let (status, headers, mut events) = sluice
        .stream(PORT, "/open", &[("last-event-id", "41")])
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/event-stream");
    let first = events.next(Duration::from_secs(5)).await?;
    assert_eq!(first.data, "resumed after 41");
    let tick = events.next(Duration::from_secs(5)).await?;
    assert_eq!(
        (tick.id.as_deref(), tick.data.as_str()),
        (Some("1"), "tick 1")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_stream_is_challenged_and_ends_when_its_token_expires() -> Result<()> {
    let sluice = Sluice::with_config(&config(upstream().await?)).await?;
    let (status, _, _) = sluice.stream(PORT, "/events", &[]).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let short = token(RSA1, "k1", &claims("alice", "proxy:stream", 4));
    let (status, _, mut events) = sluice
        .stream(PORT, &format!("/events?access_token={short}"), &[])
        .await?;
    assert_eq!(status, StatusCode::OK);
    let (mut challenged, mut ticks) = (false, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match events.next(left).await {
            Ok(event) if event.event.as_deref() == Some("challenge") => challenged = true,
            Ok(event) => {
                assert!(event.data.starts_with("tick") || event.data.starts_with("resumed"));
                ticks += 1;
            }
            Err(error) if error.to_string().contains("no event in time") => {
                anyhow::bail!("the relayed stream outlived its token")
            }
            Err(_) => break,
        }
    }
    assert!(challenged, "a challenge came before expiry");
    assert!(ticks >= 5, "events flowed until then ({ticks})");
    Ok(())
}
