//! `http` client bindings: requests proxied to an upstream HTTP server (the shape of
//! Zilla's http.proxy example, written anew), plain and over TLS with the vault's trust
//! (HTTP/2 by ALPN), end-to-end headers forwarded and hop-by-hop ones dropped, bodies both
//! ways, a streamed response passed on as it comes, and 502 for an upstream that is down.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sluice_tests::{Sluice, closed_port};
use tokio::net::TcpListener;

const PORT: u16 = 7143;

fn vault_dir() -> String {
    format!("{}/../testdata/vault", env!("CARGO_MANIFEST_DIR"))
}

type Reply = http::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

/// What the upstream answers: `/stream` sends two chunks 300 ms apart; anything else is a
/// description of the request it got.
async fn answer(request: http::Request<Incoming>) -> Result<Reply, Infallible> {
    if request.uri().path() == "/stream" {
        let chunks = futures_stream();
        let mut response = http::Response::new(StreamBody::new(chunks).boxed());
        response.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("text/event-stream"),
        );
        return Ok(response);
    }
    let version = format!("{:?}", request.version());
    let method = request.method().to_string();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let private = request.headers().contains_key("x-private");
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = format!(
        "{version} {method} {target} id={request_id} private={private} body={}",
        String::from_utf8_lossy(&body)
    );
    let mut response = http::Response::new(Full::new(Bytes::from(text)).boxed());
    response
        .headers_mut()
        .insert("x-upstream", http::HeaderValue::from_static("yes"));
    Ok(response)
}

/// Two event chunks, the second 300 ms after the first.
fn futures_stream()
-> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static {
    futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok(Frame::data(Bytes::from_static(b"data:first\n\n"))), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Some((Ok(Frame::data(Bytes::from_static(b"data:second\n\n"))), 2))
            }
            _ => None,
        }
    })
}

/// An upstream on loopback, with TLS (the test server certificate, ALPN h2 and
/// http/1.1) when `tls`.
async fn upstream(tls: bool) -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let acceptor = if tls {
        let dir = vault_dir();
        let chain = vec![CertificateDer::from_pem_file(format!("{dir}/server.pem"))?];
        let key = PrivateKeyDer::from_pem_file(format!("{dir}/server.key"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    } else {
        None
    };
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(answer);
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    Ok(port)
}

/// tcp → http server → http client → [tls client →] tcp client to the upstream.
fn config(upstream_port: u16, tls: bool) -> String {
    let dir = vault_dir();
    let (vaults, exit, tls_binding) = if tls {
        (
            format!("vaults:\n  your_clients:\n    type: filesystem\n    options:\n      trust: {{ store: {dir}/trust.jks, type: jks, password: generated }}\n"),
            "south_tls_client",
            "  south_tls_client:\n    type: tls\n    kind: client\n    vault: your_clients\n    options:\n      trust: [ ca ]\n      sni: [ localhost ]\n      alpn: [ h2 ]\n    exit: south_tcp_client\n".to_owned(),
        )
    } else {
        (String::new(), "south_tcp_client", String::new())
    };
    format!(
        r#"name: proxy
{vaults}bindings:
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
        exit: south_http_client
  south_http_client:
    type: http
    kind: client
    exit: {exit}
{tls_binding}  south_tcp_client:
    type: tcp
    kind: client
    options: {{ host: 127.0.0.1, port: {upstream_port} }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_bodies_reach_the_upstream_and_back() -> Result<()> {
    let port = upstream(false).await?;
    let sluice = Sluice::with_config(&config(port, false)).await?;
    let reply = sluice
        .send(
            PORT,
            Method::POST,
            "/demo.html?x=1",
            &[
                ("x-request-id", "7"),
                ("connection", "x-private"),
                ("x-private", "secret"),
            ],
            "payload",
        )
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.headers["x-upstream"], "yes");
    assert_eq!(
        reply.body, "HTTP/1.1 POST /demo.html?x=1 id=7 private=false body=payload",
        "end-to-end headers go on; a header the connection header names stays behind"
    );

    // A streamed response is passed on as it comes: the first chunk arrives before the
    // upstream has finished.
    let (status, _, mut events) = sluice.stream(PORT, "/stream", &[]).await?;
    assert_eq!(status, StatusCode::OK);
    let started = tokio::time::Instant::now();
    assert_eq!(events.next(Duration::from_secs(5)).await?.data, "first");
    assert!(started.elapsed() < Duration::from_millis(250));
    assert_eq!(events.next(Duration::from_secs(5)).await?.data, "second");

    // An upstream that is down: 502, with the reason.
    let down = Sluice::with_config(&config(closed_port()?, false)).await?;
    let reply = down.send(PORT, Method::GET, "/demo.html", &[], "").await?;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.json()?["code"], "upstream_failed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_upstream_is_verified_with_the_vault_and_spoken_to_over_h2() -> Result<()> {
    let port = upstream(true).await?;
    let sluice = Sluice::with_config(&config(port, true)).await?;
    let reply = sluice
        .send(PORT, Method::GET, "/demo.html", &[], "")
        .await?;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let body = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(body.starts_with("HTTP/2.0 GET /demo.html"), "{body}");

    // A server name the upstream's certificate does not hold: refused, 502.
    let wrong_name = config(port, true).replace("sni: [ localhost ]", "sni: [ elsewhere.test ]");
    let wrong = Sluice::with_config(&wrong_name).await?;
    let reply = wrong.send(PORT, Method::GET, "/demo.html", &[], "").await?;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{reply:?}");
    let reason = reply.json()?["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("certificate") || reason.contains("Certificate"),
        "{reason}"
    );
    Ok(())
}
