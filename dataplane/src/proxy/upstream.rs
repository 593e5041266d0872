//! Requests proxied to the upstream HTTP server of an `http` client binding (Zilla's
//! http.proxy): over TLS when a `tls` client sits in between, HTTP/1.1 or HTTP/2 as the
//! client's `versions` allow, bodies streamed both ways.
//!
//! The upstream sees its own authority (`host:port` of the tcp client) and the request's
//! method, path, query and end-to-end headers; hop-by-hop headers (RFC 9110 section 7.6.1)
//! are dropped both ways. The request body is bounded by the server's `max-body-bytes`. An
//! upstream that cannot be reached, or breaks the exchange, is `502 upstream_failed`; one
//! that sends no response head within 60 s is `504 upstream_timeout`. The response body is
//! passed on as it arrives, so event streams proxy too.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http::request::Parts;
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::ServerName;
use sluice_shared::RouteTable;
use sluice_shared::table::Upstream;
use tokio::sync::mpsc;

use crate::error::DataPlaneError;
use crate::response::{Aborted, Body};
use crate::tls::{TlsError, client_config, plain_client_config};

/// How long a connection to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the upstream may take to send its response head.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Response chunks buffered ahead of a slow client.
const AHEAD: usize = 8;

pub(crate) type UpstreamBody = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The clients of one configuration's upstreams, by the table's index.
#[derive(Default)]
pub(crate) struct UpstreamClients {
    clients: Vec<UpstreamClient>,
}

struct UpstreamClient {
    client: Client<HttpsConnector<HttpConnector>, UpstreamBody>,
    /// `http://host:port` or `https://host:port`.
    base: String,
}

impl UpstreamClients {
    /// Clients for every upstream of `table`; the TLS stores are read now, so a bad one
    /// fails the apply.
    pub(crate) fn build(table: &RouteTable) -> Result<Self, TlsError> {
        let mut clients = Vec::with_capacity(table.upstreams.len());
        for upstream in &table.upstreams {
            clients.push(client(upstream)?);
        }
        Ok(Self { clients })
    }
}

fn client(upstream: &Upstream) -> Result<UpstreamClient, TlsError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    // The versions the http client allows, narrowed by the tls client's ALPN when it names
    // protocols; the connector offers them by ALPN itself.
    let (mut http1, mut h2) = (upstream.http1, upstream.h2);
    let (tls_config, sni, scheme) = match &upstream.tls {
        Some(tls) => {
            if !tls.alpn.is_empty() {
                http1 &= tls.alpn.iter().any(|p| p == "http/1.1");
                h2 &= tls.alpn.iter().any(|p| p == "h2");
            }
            (client_config(tls)?, tls.sni.clone(), "https")
        }
        None => (plain_client_config(&upstream.binding)?, None, "http"),
    };
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config)
        .https_or_http();
    let builder = match sni.map(ServerName::try_from) {
        Some(Ok(name)) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
        Some(Err(_)) | None => builder,
    };
    let connector = match (http1, h2) {
        (true, false) => builder.enable_http1().wrap_connector(http),
        (false, true) => builder.enable_http2().wrap_connector(http),
        _ => builder.enable_all_versions().wrap_connector(http),
    };
    let mut client = Client::builder(TokioExecutor::new());
    if h2 && !http1 {
        client.http2_only(true);
    }
    Ok(UpstreamClient {
        client: client.build(connector),
        base: format!("{scheme}://{}:{}", upstream.host, upstream.port),
    })
}

/// Sends `parts` with `body` to upstream `index` and waits for its response head.
pub(crate) async fn send(
    clients: &UpstreamClients,
    index: usize,
    parts: &Parts,
    body: UpstreamBody,
) -> Result<Response<Incoming>, DataPlaneError> {
    let upstream = clients
        .clients
        .get(index)
        .ok_or_else(|| DataPlaneError::Internal("no client for this upstream".to_owned()))?;
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!("{}{target}", upstream.base)
        .parse()
        .map_err(|e| DataPlaneError::BadRequest(format!("request target: {e}")))?;
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .body(body)
        .map_err(|e| DataPlaneError::BadRequest(e.to_string()))?;
    copy_end_to_end(&parts.headers, request.headers_mut());
    let sent = tokio::time::timeout(RESPONSE_TIMEOUT, upstream.client.request(request)).await;
    match sent {
        Err(_) => Err(DataPlaneError::UpstreamTimeout {
            seconds: RESPONSE_TIMEOUT.as_secs(),
        }),
        Ok(Err(error)) => Err(DataPlaneError::Upstream(describe(&error))),
        Ok(Ok(response)) => Ok(response),
    }
}

/// An empty request body.
pub(crate) fn empty() -> UpstreamBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// Why the exchange with the upstream failed, for the client and the log.
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The response body, passed on chunk by chunk from a task of its own.
pub(crate) fn stream(mut incoming: Incoming) -> Body {
    let (sender, receiver) = mpsc::channel(AHEAD);
    tokio::spawn(async move {
        while let Some(frame) = incoming.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data()
                        && sender.send(Ok(data)).await.is_err()
                    {
                        return; // the client went
                    }
                }
                Err(_) => {
                    let _ = sender
                        .send(Err(Aborted("the upstream broke the response")))
                        .await;
                    return;
                }
            }
        }
    });
    Body::Stream(receiver)
}

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Copies the headers of `from` but the hop-by-hop ones (and `host`: the URI carries the
/// authority) and those `connection` names.
pub(super) fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    let named: Vec<String> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in from {
        let text = name.as_str();
        if HOP_BY_HOP.contains(&text) || name == header::HOST || named.iter().any(|n| n == text) {
            continue;
        }
        to.append(HeaderName::clone(name), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut from = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("host", "gateway:7143"),
            ("transfer-encoding", "chunked"),
            ("accept", "text/html"),
            ("x-request-id", "7"),
        ] {
            from.append(
                HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            );
        }
        let mut to = HeaderMap::new();
        copy_end_to_end(&from, &mut to);
        let names: Vec<&str> = to.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, vec!["accept", "x-request-id"]);
    }
}
