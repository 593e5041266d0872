//! Listeners and connections.
//!
//! Each configured tcp listener runs an accept loop; each accepted connection is served by
//! hyper (HTTP/1.1, and HTTP/2 with prior knowledge on the same port) with the limits of its
//! `http` binding. A listener whose tcp binding exits to a `tls` binding first completes a
//! TLS handshake (ALPN picks `h2` or `http/1.1`), then serves the decrypted stream the same
//! way. [`DataPlane::apply`] swaps the active configuration whole, binding added
//! listeners before the swap and closing removed ones after it; connections already open
//! keep running.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use sluice_shared::RouteTable;
use sluice_shared::table::{HttpLimits, HttpServer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::budget::BodyBudget;
use crate::guard::GuardKeySets;
use crate::guard::jwks::JwksPool;
use crate::guard::session::SessionRegistry;
use crate::handler::{self, Connection};
use crate::idle::{Activity, IdleIo, Tracked};
use crate::kafka::cache::{CachePool, TopicCaches};
use crate::kafka::feed::{FeedPool, TopicFeeds};
use crate::kafka::reply::{ReplyTaps, TapPool};
use crate::kafka::{ProducerPool, Producers};
use crate::metrics::{Gauged, Metrics, TableStats};
use crate::proxy::sink::{Sink, SocketSink};
use crate::proxy::sse::RouteLiveness;
use crate::proxy::sse::Stream;
use crate::tls::Acceptors;

/// Settings of the data plane that do not come from the configuration.
#[derive(Debug, Clone, Default)]
pub struct DataPlaneOptions {
    /// Bind every listener on this address instead of its configured host and port; tests
    /// use `127.0.0.1:0` and ask [`DataPlane::local_addr`] for the real port.
    pub bind_override: Option<SocketAddr>,
    /// Bind every listener on this address instead of its configured host, keeping its
    /// port (`sluice dataplane --bind-host`).
    pub bind_host: Option<std::net::IpAddr>,
    /// Memory budget for request bodies being received, bytes; `None` for the default
    /// ([`crate::budget::DEFAULT_BODY_BUDGET_BYTES`]).
    pub body_budget_bytes: Option<u64>,
}

/// What requests are served from: one configuration and its Kafka producers.
pub(crate) struct Active {
    pub table: Arc<RouteTable>,
    pub producers: Producers,
    pub taps: ReplyTaps,
    pub caches: TopicCaches,
    pub feeds: TopicFeeds,
    /// The keys of the table's guards.
    pub guard_keys: GuardKeySets,
    /// Sessions of guarded streams, across configurations and connections.
    pub sessions: Arc<SessionRegistry>,
    /// Which SSE routes exist, across configurations.
    pub routes: Arc<RouteLiveness>,
    /// Turns true when the data plane shuts down; long-lived streams end on it.
    pub shutdown: watch::Receiver<bool>,
    /// The data plane's counters, across configurations.
    pub metrics: Arc<Metrics>,
    /// The counters of this table's routes.
    pub stats: TableStats,
    /// TLS termination of this table's `tls` listeners, by port.
    pub tls: Acceptors,
    /// The process's memory budget for request bodies, across configurations.
    pub body_budget: Arc<BodyBudget>,
}

struct RunningListener {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

type ListenerKey = (String, u16);

/// A running data plane.
pub struct DataPlane {
    active: Arc<ArcSwap<Active>>,
    pool: ProducerPool,
    taps: TapPool,
    caches: CachePool,
    feeds: FeedPool,
    jwks: JwksPool,
    sessions: Arc<SessionRegistry>,
    routes: Arc<RouteLiveness>,
    metrics: Arc<Metrics>,
    body_budget: Arc<BodyBudget>,
    /// The last Kafka readiness probe: when, and its answer.
    kafka_probe: std::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
    listeners: Mutex<HashMap<ListenerKey, RunningListener>>,
    graceful: Arc<GracefulShutdown>,
    shutdown: watch::Sender<bool>,
    options: DataPlaneOptions,
}

impl DataPlane {
    /// Binds the listeners of `table` and starts serving it.
    pub async fn start(table: RouteTable, options: DataPlaneOptions) -> Result<Self, String> {
        let shutdown = watch::Sender::new(false);
        let active = Arc::new(ArcSwap::from_pointee(Active {
            table: Arc::new(RouteTable::empty()),
            producers: Producers::default(),
            taps: ReplyTaps::default(),
            caches: TopicCaches::default(),
            feeds: TopicFeeds::default(),
            guard_keys: GuardKeySets::default(),
            sessions: Arc::default(),
            routes: Arc::default(),
            shutdown: shutdown.subscribe(),
            metrics: Arc::default(),
            stats: TableStats::default(),
            tls: Acceptors::default(),
            body_budget: Arc::default(),
        }));
        let data_plane = Self {
            active,
            shutdown,
            pool: ProducerPool::default(),
            taps: TapPool::default(),
            caches: CachePool::default(),
            feeds: FeedPool::default(),
            jwks: JwksPool::default(),
            sessions: Arc::default(),
            routes: Arc::default(),
            metrics: Arc::default(),
            body_budget: Arc::new(BodyBudget::new(
                options
                    .body_budget_bytes
                    .unwrap_or(crate::budget::DEFAULT_BODY_BUDGET_BYTES),
            )),
            kafka_probe: std::sync::Mutex::default(),
            listeners: Mutex::new(HashMap::new()),
            graceful: Arc::new(GracefulShutdown::new()),
            options,
        };
        data_plane.apply(table).await?;
        Ok(data_plane)
    }

    /// Validated `table` replaces the active one: new requests use it, requests in flight
    /// finish with the table they started with. On error nothing changes.
    pub async fn apply(&self, table: RouteTable) -> Result<(), String> {
        // Certificates first: a missing or bad file fails the apply before anything starts.
        let tls = Acceptors::load(&table)?;
        crate::kafka::check_files(&table.clusters)?;
        let producers = attach(&self.pool, &table)?;
        let taps = self
            .taps
            .attach(&table.clusters, table.reply_topics())
            .await?;
        let caches = self
            .caches
            .attach(
                &table.clusters,
                table.fetch_topics(),
                crate::kafka::cache::start,
            )
            .await?;
        let feeds = self
            .feeds
            .attach(
                &table.clusters,
                table.stream_topics(),
                crate::kafka::feed::start,
            )
            .await?;
        let guard_keys = GuardKeySets::attach(&self.jwks, &table).await;
        let table = Arc::new(table);
        let active = Active {
            stats: self.metrics.attach(&table),
            metrics: self.metrics.clone(),
            table,
            producers,
            taps,
            caches,
            feeds,
            guard_keys,
            sessions: self.sessions.clone(),
            routes: self.routes.clone(),
            shutdown: self.shutdown.subscribe(),
            tls,
            body_budget: self.body_budget.clone(),
        };
        self.swap(active).await?;
        // Streams of removed or changed routes end; the others go on untouched.
        let current = self.active.load();
        let retired = self.routes.retain(current.table.stream_fingerprints());
        // Guarded streams whose credentials no longer pass (a key or guard removed) end.
        let revoked = self.sessions.revalidate(|guard_name, credentials| {
            let index = current
                .table
                .guards
                .iter()
                .position(|g| g.name == guard_name)?;
            crate::guard::verify_now(&current.table, &current.guard_keys, index, credentials)
                .ok()
                .map(|_| index)
        });
        if retired > 0 || revoked > 0 {
            info!(
                retired_routes = retired,
                revoked_sessions = revoked,
                "streams of changed routes and revoked credentials end"
            );
        }
        Ok(())
    }

    async fn swap(&self, active: Active) -> Result<(), String> {
        let table = &active.table;
        let mut listeners = self.listeners.lock().await;
        let wanted: Vec<ListenerKey> = table
            .listeners
            .iter()
            .map(|l| (l.host.clone(), l.port))
            .collect();
        let mut bound = Vec::new();
        for key in &wanted {
            if !listeners.contains_key(key) {
                bound.push((key.clone(), self.bind(key).await?));
            }
        }
        let name = table.name.clone();
        self.active.store(Arc::new(active));
        for (key, listener) in bound {
            let running = self.spawn_listener(key.1, listener)?;
            info!(host = %key.0, port = key.1, local = %running.local_addr, "listening");
            listeners.insert(key, running);
        }
        listeners.retain(|key, running| {
            let keep = wanted.contains(key);
            if !keep {
                info!(host = %key.0, port = key.1, "listener removed by configuration");
                let _ = running.stop.send(true);
            }
            keep
        });
        info!(config = %name, "configuration applied");
        Ok(())
    }

    async fn bind(&self, (host, port): &ListenerKey) -> Result<TcpListener, String> {
        let result = match self.options.bind_override {
            Some(addr) => TcpListener::bind(addr).await,
            None => match self.options.bind_host {
                Some(ip) => TcpListener::bind((ip, *port)).await,
                None => TcpListener::bind((host.as_str(), *port)).await,
            },
        };
        result.map_err(|e| format!("cannot listen on {host}:{port}: {e}"))
    }

    fn spawn_listener(&self, port: u16, listener: TcpListener) -> Result<RunningListener, String> {
        let local_addr = listener
            .local_addr()
            .map_err(|e| format!("listener address: {e}"))?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            port,
            stopped,
            self.active.clone(),
            self.graceful.clone(),
        ));
        Ok(RunningListener {
            local_addr,
            stop,
            task,
        })
    }

    /// The address the listener configured on `port` is bound to.
    pub async fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        let listeners = self.listeners.lock().await;
        listeners
            .iter()
            .find(|((_, p), _)| *p == port)
            .map(|(_, running)| running.local_addr)
    }

    /// Reads and checks the files `table` names (TLS certificates and keys, Kafka TLS
    /// files) without applying anything: the check a dry run makes.
    pub fn check_files(table: &RouteTable) -> Result<(), String> {
        Acceptors::load(table)?;
        crate::kafka::check_files(&table.clusters)
    }

    /// Reads the certificate and key files of every TLS listener again (SIGHUP). New
    /// handshakes use the new certificate; open connections keep theirs. A listener whose
    /// files do not load keeps its certificate, and the error names them.
    pub fn reload_certificates(&self) -> Result<usize, String> {
        self.active.load().tls.reload()
    }

    /// Reads every JWKS URL in use again now (SIGHUP); returns how many.
    pub fn reload_jwks(&self) -> usize {
        self.jwks.refresh_all()
    }

    /// Requests waiting for a reply right now, over every reply topic.
    pub fn reply_waiters(&self) -> usize {
        self.active.load().taps.waiting()
    }

    /// SSE streams dropped so far because their client stopped reading.
    pub fn sse_dropped(&self) -> u64 {
        crate::proxy::sse::DROPPED_STREAMS.load(Ordering::Relaxed)
    }

    /// Whether every Kafka cluster the active configuration uses answers a metadata request
    /// within 2 s, asked through a client Sluice already has (so a cluster no route uses is
    /// not asked). The answer is kept for 2 s, so probes cannot flood the cluster.
    pub async fn kafka_ready(&self) -> Result<(), String> {
        const TIMEOUT: Duration = Duration::from_secs(2);
        if let Ok(last) = self.kafka_probe.lock()
            && let Some((at, result)) = last.as_ref()
            && at.elapsed() < TIMEOUT
        {
            return result.clone();
        }
        let active = self.active.load_full();
        let mut result = Ok(());
        for (index, cluster) in active.table.clusters.iter().enumerate() {
            // Writes failing now say more than a metadata answer: a broker can answer
            // metadata while refusing or timing out every record.
            let writes = (0..3)
                .filter_map(|slot| active.producers.by_slot(index, slot))
                .try_for_each(|producer| producer.writable());
            if let Err(reason) = writes {
                result = Err(format!(
                    "kafka cluster '{}' ({}) cannot take writes: {reason}",
                    cluster.binding,
                    cluster.servers.join(",")
                ));
                break;
            }
            let probe: Option<Box<dyn FnOnce() -> Result<(), String> + Send>> =
                if let Some(producer) = active.producers.any(index) {
                    let producer = producer.clone();
                    Some(Box::new(move || producer.probe(TIMEOUT)))
                } else if let Some((_, _, cache)) =
                    active.caches.iter().find(|(c, _, _)| *c == index)
                {
                    let cache = cache.clone();
                    Some(Box::new(move || cache.probe(TIMEOUT)))
                } else if let Some((_, _, feed)) = active.feeds.iter().find(|(c, _, _)| *c == index)
                {
                    let feed = feed.clone();
                    Some(Box::new(move || feed.probe(TIMEOUT)))
                } else {
                    None
                };
            let Some(probe) = probe else {
                continue;
            };
            let answer = tokio::task::spawn_blocking(probe)
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            if let Err(reason) = answer {
                result = Err(format!(
                    "kafka cluster '{}' ({}) does not answer: {reason}",
                    cluster.binding,
                    cluster.servers.join(",")
                ));
                break;
            }
        }
        if let Ok(mut last) = self.kafka_probe.lock() {
            *last = Some((std::time::Instant::now(), result.clone()));
        }
        result
    }

    /// Appends the data plane's metrics, Prometheus text format, to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let active = self.active.load();
        let mut lags = Vec::new();
        for (_, topic, cache) in active.caches.iter() {
            lags.push(("cache", topic, cache.lag()));
        }
        for (_, topic, feed) in active.feeds.iter() {
            lags.push(("feed", topic, feed.lag()));
        }
        let lags: Vec<(&str, &str, i64)> = lags
            .into_iter()
            .filter_map(|(purpose, topic, lag)| lag.map(|lag| (purpose, topic, lag)))
            .collect();
        active.metrics.render(out, &lags, active.taps.waiting());
        crate::kafka::health::render(out);
        {
            use std::fmt::Write as _;
            let budget = &self.body_budget;
            out.push_str("# HELP sluice_body_budget_used_bytes Bytes held by request bodies being received.\n# TYPE sluice_body_budget_used_bytes gauge\n");
            let _ = writeln!(out, "sluice_body_budget_used_bytes {}", budget.used());
            out.push_str("# HELP sluice_body_budget_limit_bytes The memory budget for request bodies being received.\n# TYPE sluice_body_budget_limit_bytes gauge\n");
            let _ = writeln!(out, "sluice_body_budget_limit_bytes {}", budget.limit());
        }
        let expiries = active.tls.expiries();
        if !expiries.is_empty() {
            use std::fmt::Write as _;
            out.push_str("# HELP sluice_tls_certificate_expiry_timestamp_seconds When the certificate a tls binding serves expires.\n");
            out.push_str("# TYPE sluice_tls_certificate_expiry_timestamp_seconds gauge\n");
            for (binding, not_after) in expiries {
                out.push_str("sluice_tls_certificate_expiry_timestamp_seconds{binding=\"");
                crate::metrics::escape_into(out, binding);
                let _ = writeln!(out, "\"}} {not_after}");
            }
        }
    }

    /// The active route table.
    pub fn table(&self) -> Arc<RouteTable> {
        self.active.load().table.clone()
    }

    /// Stops accepting, lets requests in flight finish for up to `grace`, then returns.
    pub async fn shutdown(self, grace: Duration) {
        // Event streams never end on their own: end them, so clients reconnect elsewhere.
        self.shutdown.send_replace(true);
        let listeners = std::mem::take(&mut *self.listeners.lock().await);
        for (_, running) in listeners {
            let _ = running.stop.send(true);
            let _ = running.task.await;
        }
        let Ok(graceful) = Arc::try_unwrap(self.graceful) else {
            warn!("connections still referenced at shutdown");
            return;
        };
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            warn!(
                grace_ms = grace.as_millis() as u64,
                "requests still running after the grace period; closing them"
            );
        } else {
            info!("all connections closed");
        }
    }
}

fn attach(pool: &ProducerPool, table: &RouteTable) -> Result<Producers, String> {
    let uses = table
        .produce_actions()
        .map(|action| (action.cluster, action.acks));
    pool.attach(&table.clusters, uses)
}

async fn accept_loop(
    listener: TcpListener,
    port: u16,
    mut stopped: watch::Receiver<bool>,
    active: Arc<ArcSwap<Active>>,
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

/// The answer to a client whose first request head is not complete in time.
const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 78\r\n\r\n{\"code\":\"request_timeout\",\"message\":\"the request head did not arrive in time\"}";
/// The answer to a connection over the listener's limit.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 2\r\ncontent-length: 0\r\n\r\n";

/// Counts a connection while it is open.
struct OpenConnection(Arc<AtomicU64>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    port: u16,
    active: &Arc<ArcSwap<Active>>,
    graceful: &GracefulShutdown,
    open: &Arc<AtomicU64>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%peer, error = %error, "cannot set TCP_NODELAY");
    }
    let (limits, metrics) = {
        let current = active.load();
        match current.table.server_for_port(port) {
            Some(server) => (server.limits, current.metrics.clone()),
            None => return, // listener removed; the connection is dropped
        }
    };
    if open.fetch_add(1, Ordering::Relaxed) >= limits.max_connections {
        open.fetch_sub(1, Ordering::Relaxed);
        metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
        let _ = stream.try_write(TOO_MANY_CONNECTIONS);
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
                Ok(Ok(stream)) => serve_hyper(stream, true, peer, port, active, watcher).await,
                Ok(Err(error)) => debug!(%peer, error = %error, "tls handshake failed"),
                Err(_) => debug!(%peer, "tls handshake not finished in time; connection closed"),
            }
        });
        return;
    }
    tokio::spawn(async move {
        let _counted = counted;
        let connection = Arc::new(Connection::default());
        let head = match first_head(&stream, &limits).await {
            FirstHead::Late { h2 } => {
                // HTTP/2 clients start with "PRI"; an HTTP/1.1 answer would mean nothing to them.
                if !h2 {
                    let _ = stream.try_write(REQUEST_TIMEOUT);
                }
                debug!(%peer, "request head not received in time; connection closed");
                return;
            }
            FirstHead::Closed => return,
            FirstHead::Ambiguous => {
                let _ = stream.try_write(AMBIGUOUS_LENGTH);
                return;
            }
            FirstHead::BareLf => {
                let _ = stream.try_write(BARE_LF);
                return;
            }
            FirstHead::UriTooLong => {
                let _ = stream.try_write(URI_TOO_LONG);
                return;
            }
            FirstHead::EventStream(parts, bytes) => {
                let current = active.load_full();
                match handler::open_stream(&current, &connection, port, &parts).await {
                    Some((headers, sse)) => {
                        // Keep nothing but the stream and the socket for the stream's life:
                        // this task is all an idle stream costs.
                        drop((current, parts, bytes, connection, active, watcher));
                        serve_stream(stream, headers, sse).await;
                        return;
                    }
                    None => bytes,
                }
            }
            FirstHead::Other(bytes) => bytes,
        };
        let io = Prefixed {
            prefix: head,
            at: 0,
            inner: stream,
        };
        serve_hyper(io, false, peer, port, active, watcher).await;
    });
}

/// Serves a connection with hyper, with the limits of the listener's `http` binding.
async fn serve_hyper<I>(
    io: I,
    tls: bool,
    peer: SocketAddr,
    port: u16,
    active: Arc<ArcSwap<Active>>,
    watcher: hyper_util::server::graceful::Watcher,
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
    let connection = Arc::new(Connection::default());
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

/// Serves an event stream on a connection hyper never saw.
async fn serve_stream(mut socket: TcpStream, headers: http::HeaderMap, stream: Stream) {
    if write_stream_head(&mut socket, &headers).await.is_ok() {
        drop(headers);
        stream.run(Sink::Socket(SocketSink::new(socket))).await;
    }
}

/// The answer to a first request with both `content-length` and `transfer-encoding`.
const AMBIGUOUS_LENGTH: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"code\":\"bad_request\",\"message\":\"a request must not have both content-length and transfer-encoding\"}";

/// The answer to a request line or header line that ends in a bare LF.
const BARE_LF: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 81\r\n\r\n{\"code\":\"bad_request\",\"message\":\"request lines must end in CR LF, not a bare LF\"}";
/// The answer to a request line longer than the head limit.
const URI_TOO_LONG: &[u8] = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 84\r\n\r\n{\"code\":\"uri_too_long\",\"message\":\"the request target is longer than the head limit\"}";

/// What the first bytes of a connection are.
enum FirstHead {
    /// A line of the head ends in a bare LF.
    BareLf,
    /// The request line alone is over the head limit.
    UriTooLong,
    /// The head did not arrive in time.
    Late {
        /// The client started the HTTP/2 preface.
        h2: bool,
    },
    /// The client closed (or the socket failed) before sending a head.
    Closed,
    /// An HTTP/1.1 head with both `content-length` and `transfer-encoding`.
    Ambiguous,
    /// An HTTP/1.1 `GET` asking for `text/event-stream`, and every byte read.
    EventStream(Box<http::request::Parts>, Vec<u8>),
    /// Anything else (HTTP/2, other requests, heads over the limit), for hyper.
    Other(Vec<u8>),
}

/// Reads the connection's first request head (or HTTP/2 preface), within the header-read
/// timeout: Sluice answers a late first head with 408, refuses ambiguous framing, and serves
/// an event stream opened by the first request without hyper.
async fn first_head(stream: &TcpStream, limits: &HttpLimits) -> FirstHead {
    const PREFACE: &[u8] = b"PRI ";
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(limits.header_read_timeout_ms);
    let max = usize::try_from(limits.max_header_bytes.max(8192)).unwrap_or(8192);
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Err(_) => {
                return FirstHead::Late {
                    h2: buffer.starts_with(&PREFACE[..buffer.len().min(PREFACE.len())])
                        && !buffer.is_empty(),
                };
            }
            Ok(Err(_)) => return FirstHead::Closed,
            Ok(Ok(())) => {}
        }
        buffer.reserve(1024);
        match stream.try_read_buf(&mut buffer) {
            Ok(0) if buffer.is_empty() => return FirstHead::Closed,
            Ok(0) => return FirstHead::Other(buffer),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return FirstHead::Closed,
        }
        // HTTP/2 with prior knowledge: the whole preface must arrive within the time
        // allowed for a head, or the connection is closed (a client that sends "PRI " and
        // stops holds no slot).
        if buffer.starts_with(PREFACE) {
            if buffer.len() >= H2_PREFACE.len() {
                if buffer.starts_with(H2_PREFACE) {
                    return FirstHead::Other(buffer);
                }
            } else if H2_PREFACE.starts_with(&buffer) {
                continue;
            }
        }
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return classify(buffer, end + 4);
        }
        if buffer
            .iter()
            .enumerate()
            .any(|(at, byte)| *byte == b'\n' && (at == 0 || buffer[at - 1] != b'\r'))
        {
            return FirstHead::BareLf;
        }
        if buffer.len() > max {
            if !buffer.windows(2).any(|w| w == b"\r\n") {
                return FirstHead::UriTooLong;
            }
            return FirstHead::Other(buffer); // hyper answers 431
        }
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

fn classify(buffer: Vec<u8>, end: usize) -> FirstHead {
    let head = &buffer[..end];
    let framing = contains_ignore_case(head, b"transfer-encoding");
    let wants_stream = contains_ignore_case(head, b"text/event-stream");
    if !framing && !wants_stream {
        return FirstHead::Other(buffer);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(request.parse(head), Ok(httparse::Status::Complete(_))) {
        return FirstHead::Other(buffer);
    }
    let has = |name: &str| {
        request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    };
    if has("transfer-encoding") && has("content-length") {
        return FirstHead::Ambiguous;
    }
    if !wants_stream
        || request.method != Some("GET")
        || request.version != Some(1)
        || has("transfer-encoding")
        || has("upgrade")
        || request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
    {
        return FirstHead::Other(buffer);
    }
    let mut builder = http::Request::builder()
        .method(http::Method::GET)
        .uri(request.path.unwrap_or("/"))
        .version(http::Version::HTTP_11);
    for header in request.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    match builder.body(()) {
        Ok(request) => FirstHead::EventStream(Box::new(request.into_parts().0), buffer),
        Err(_) => FirstHead::Other(buffer),
    }
}

/// Writes the response head of an event stream served without hyper.
async fn write_stream_head(
    stream: &mut TcpStream,
    headers: &http::HeaderMap,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\ntransfer-encoding: chunked\r\n\r\n");
    stream.write_all(&head).await
}

/// A socket whose first bytes were already read: they are read again first.
struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl tokio::io::AsyncRead for Prefixed {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Prefixed {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_answers_declare_their_body_length() {
        for answer in [
            REQUEST_TIMEOUT,
            TOO_MANY_CONNECTIONS,
            AMBIGUOUS_LENGTH,
            BARE_LF,
            URI_TOO_LONG,
        ] {
            let text = std::str::from_utf8(answer).expect("ascii");
            let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
            let declared: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|n| n.parse().ok())
                .expect("content-length");
            assert_eq!(declared, body.len(), "{head}");
        }
    }
}
