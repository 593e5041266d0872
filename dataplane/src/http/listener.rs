//! Accepting connections and serving them: connection limits, TCP_NODELAY, TLS
//! handshakes, the first request head, then hyper (HTTP/1.1, and HTTP/2 with prior
//! knowledge on the same port) with the limits of the listener's `http` binding.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use sluice_shared::table::{HttpLimits, HttpServer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, warn};

use super::head::{FirstHead, first_head, raw_answer};
use super::idle::{Activity, IdleIo, Tracked};
use super::prefixed::Prefixed;
use super::stream::{serve_stream, write_response};
use crate::admit::{self, Connection, Opened};
use crate::error::DataPlaneError;
use crate::handler;
use crate::metrics::Gauged;
use crate::snapshot::Snapshot;

/// Accepts connections on `listener` (configured `port`) until `stopped` turns true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    port: u16,
    mut stopped: watch::Receiver<bool>,
    active: Arc<ArcSwap<Snapshot>>,
    graceful: Arc<GracefulShutdown>,
) {
    let open = Arc::new(AtomicU64::new(0));
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => serve(stream, peer, port, &active, &graceful, &open),
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(port, error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

fn builder(server: &HttpServer) -> auto::Builder<TokioExecutor> {
    let limits = server.limits;
    let resets = usize::try_from(limits.max_reset_streams).unwrap_or(usize::MAX);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Sluice answers 408 itself when the first request head is late (see `serve`); hyper's
    // own timeout, a little later, closes connections whose later heads are late.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms + 1000))
        .max_buf_size(usize::try_from(limits.max_header_bytes.max(8192)).unwrap_or(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(Some(resets))
        .max_local_error_reset_streams(Some(resets))
        .adaptive_window(true);
    match (server.http1, server.h2) {
        (true, false) => builder.http1_only(),
        (false, true) => builder.http2_only(),
        _ => builder,
    }
}

/// Counts a connection while it is open.
struct OpenConnection(Arc<AtomicU64>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The limits and metrics of the listener configured on `port`, and whether it is a TCP
/// echo; `None` when the configuration no longer has it.
fn listener_settings(
    active: &Arc<ArcSwap<Snapshot>>,
    port: u16,
) -> Option<(HttpLimits, Arc<crate::metrics::Metrics>, bool)> {
    let current = active.load();
    match current.table.server_for_port(port) {
        Some(server) => Some((server.limits, current.metrics.clone(), false)),
        None if current.table.raw_echo(port) => {
            Some((HttpLimits::default(), current.metrics.clone(), true))
        }
        None => None,
    }
}

fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    port: u16,
    active: &Arc<ArcSwap<Snapshot>>,
    graceful: &GracefulShutdown,
    open: &Arc<AtomicU64>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%peer, error = %error, "cannot set TCP_NODELAY");
    }
    let Some((limits, metrics, raw_echo)) = listener_settings(active, port) else {
        return; // listener removed; the connection is dropped
    };
    if open.fetch_add(1, Ordering::Relaxed) >= limits.max_connections {
        open.fetch_sub(1, Ordering::Relaxed);
        metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
        let _ = stream.try_write(&raw_answer(&DataPlaneError::TooManyConnections));
        warn!(%peer, port, limit = limits.max_connections, "connection refused: listener at max-connections");
        return;
    }
    let counted = (
        OpenConnection(open.clone()),
        Gauged::new(&metrics, |m| &m.connections_open),
    );
    drop(metrics);
    let watcher = graceful.watcher();
    let tls = active
        .load()
        .tls
        .get(port)
        .map(|acceptor| acceptor.config());
    let active = active.clone();
    if let Some(config) = tls {
        // A task of its own: the plaintext task below stays as small as an idle stream
        // needs (a TLS session in it would make every connection's future bigger).
        tokio::spawn(async move {
            let _counted = counted;
            // The handshake must finish within the time allowed for a request head.
            let accept = tokio_rustls::TlsAcceptor::from(config).accept(stream);
            let timeout = Duration::from_millis(limits.header_read_timeout_ms);
            match tokio::time::timeout(timeout, accept).await {
                Ok(Ok(stream)) if raw_echo => {
                    super::raw_echo::echo(stream, Duration::from_millis(limits.idle_timeout_ms))
                        .await;
                }
                Ok(Ok(stream)) => {
                    let connection = Arc::new(Connection::default());
                    serve_hyper(stream, true, peer, port, active, watcher, connection).await;
                }
                Ok(Err(error)) => debug!(%peer, error = %error, "tls handshake failed"),
                Err(_) => debug!(%peer, "tls handshake not finished in time; connection closed"),
            }
        });
        return;
    }
    if raw_echo {
        tokio::spawn(async move {
            let _counted = counted;
            super::raw_echo::echo(stream, Duration::from_millis(limits.idle_timeout_ms)).await;
        });
        return;
    }
    tokio::spawn(serve_plain(
        stream, peer, port, limits, active, watcher, counted,
    ));
}

/// Serves a plaintext connection: its first request head first (raw answers for a late or
/// malformed head; the SSE fast path for an event stream), then hyper.
async fn serve_plain(
    stream: TcpStream,
    peer: SocketAddr,
    port: u16,
    limits: HttpLimits,
    active: Arc<ArcSwap<Snapshot>>,
    watcher: Watcher,
    counted: (OpenConnection, Gauged),
) {
    let connection = Arc::new(Connection::default());
    let head = match first_head(&stream, &limits).await {
        FirstHead::Refused(failure) => {
            debug!(%peer, error = %failure, "first request head refused; connection closed");
            let _ = stream.try_write(&raw_answer(&failure));
            return;
        }
        FirstHead::LatePreface => {
            debug!(%peer, "http/2 preface not received in time; connection closed");
            return;
        }
        FirstHead::Closed => return,
        FirstHead::EventStream(parts, bytes, end) => {
            let current = active.load_full();
            match admit::open_stream(&current, &connection, port, &parts).await {
                Opened::Stream(headers, sse) => {
                    // The stream goes on in a task of its own, which holds nothing but the
                    // stream, the socket and the connection's count: the hyper path of
                    // this task is never part of an idle stream's cost.
                    drop((current, parts, bytes, connection, active, watcher));
                    tokio::spawn(serve_stream(stream, headers, sse, counted));
                    return;
                }
                Opened::Answered(response) => {
                    drop(current);
                    if write_response(&stream, response).await.is_err() {
                        return;
                    }
                    // The connection goes on with hyper, after the answered head.
                    bytes[end..].to_vec()
                }
                Opened::Elsewhere => bytes,
            }
        }
        FirstHead::Other(bytes) => bytes,
    };
    let io = Prefixed::new(head, stream);
    serve_hyper(io, false, peer, port, active, watcher, connection).await;
    drop(counted);
}

/// Serves a connection with hyper, with the limits of the listener's `http` binding.
async fn serve_hyper<I>(
    io: I,
    tls: bool,
    peer: SocketAddr,
    port: u16,
    active: Arc<ArcSwap<Snapshot>>,
    watcher: Watcher,
    connection: Arc<Connection>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (builder, idle_timeout) = {
        let current = active.load();
        match current.table.server_for_port(port) {
            Some(server) => (
                builder(server),
                Duration::from_millis(server.limits.idle_timeout_ms),
            ),
            None => return,
        }
    };
    let activity = Arc::new(Activity::default());
    let io = IdleIo::new(io, activity.clone(), idle_timeout);
    let service = service_fn(move |mut request| {
        let busy = activity.busy();
        if tls {
            https_uri(&mut request);
        }
        let active = active.load_full();
        let connection = connection.clone();
        async move {
            let response = handler::handle(active, connection, port, request).await;
            Ok::<_, Infallible>(response.map(|body| Tracked::new(body, busy)))
        }
    });
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .into_owned();
    if let Err(error) = watcher.watch(connection).await {
        debug!(%peer, error = %error, "connection ended with an error");
    }
}

/// Gives an HTTP/1.1 request that arrived over TLS the `https` scheme (and its `host` as
/// authority), so that `:scheme` conditions and absolute URLs see what the client used.
/// HTTP/2 requests carry `:scheme` themselves.
fn https_uri<B>(request: &mut http::Request<B>) {
    if request.uri().scheme().is_some() {
        return;
    }
    let authority = request
        .headers()
        .get(http::header::HOST)
        .and_then(|host| http::uri::Authority::try_from(host.as_bytes()).ok());
    let Some(authority) = authority else {
        return;
    };
    let mut parts = request.uri().clone().into_parts();
    parts.scheme = Some(http::uri::Scheme::HTTPS);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
}
