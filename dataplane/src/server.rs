//! Listeners and connections.
//!
//! Each configured tcp listener runs an accept loop; each accepted connection is served by
//! hyper (HTTP/1.1, and HTTP/2 with prior knowledge on the same port) with the limits of its
//! `http` binding. [`DataPlane::apply`] swaps the active configuration whole, binding added
//! listeners before the swap and closing removed ones after it; connections already open
//! keep running.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use sluice_shared::RouteTable;
use sluice_shared::table::HttpServer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::guard::GuardKeySets;
use crate::guard::jwks::JwksPool;
use crate::guard::session::SessionRegistry;
use crate::handler::{self, Connection};
use crate::kafka::cache::{CachePool, TopicCaches};
use crate::kafka::feed::{FeedPool, TopicFeeds};
use crate::kafka::reply::{ReplyTaps, TapPool};
use crate::kafka::{ProducerPool, Producers};

/// Settings of the data plane that do not come from the configuration.
#[derive(Debug, Clone, Default)]
pub struct DataPlaneOptions {
    /// Bind every listener on this address instead of its configured host and port; tests
    /// use `127.0.0.1:0` and ask [`DataPlane::local_addr`] for the real port.
    pub bind_override: Option<SocketAddr>,
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
    /// Turns true when the data plane shuts down; long-lived streams end on it.
    pub shutdown: watch::Receiver<bool>,
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
            shutdown: shutdown.subscribe(),
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
        let active = Active {
            table: Arc::new(table),
            producers,
            taps,
            caches,
            feeds,
            guard_keys,
            sessions: self.sessions.clone(),
            shutdown: self.shutdown.subscribe(),
        };
        self.swap(active).await
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
            None => TcpListener::bind((host.as_str(), *port)).await,
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

    /// Requests waiting for a reply right now, over every reply topic.
    pub fn reply_waiters(&self) -> usize {
        self.active.load().taps.waiting()
    }

    /// SSE streams dropped so far because their client stopped reading.
    pub fn sse_dropped(&self) -> u64 {
        crate::proxy::sse::DROPPED_STREAMS.load(Ordering::Relaxed)
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
    let (builder, limits) = {
        let current = active.load();
        match current.table.server_for_port(port) {
            Some(server) => (builder(server), server.limits),
            None => return, // listener removed; the connection is dropped
        }
    };
    if open.fetch_add(1, Ordering::Relaxed) >= limits.max_connections {
        open.fetch_sub(1, Ordering::Relaxed);
        let _ = stream.try_write(TOO_MANY_CONNECTIONS);
        warn!(%peer, port, limit = limits.max_connections, "connection refused: listener at max-connections");
        return;
    }
    let counted = OpenConnection(open.clone());
    // A second handle on the socket, to answer 408 while hyper still owns the connection.
    let spare = stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::net::TcpStream::from);
    let started = Arc::new(AtomicBool::new(false));
    let first_byte = Arc::new(AtomicU8::new(0));
    let active = active.clone();
    let connection = Arc::new(Connection::default());
    let io = FirstByte {
        inner: stream,
        first: first_byte.clone(),
        head: Some(Vec::new()),
        ambiguous: connection.ambiguous.clone(),
    };
    let service = {
        let started = started.clone();
        service_fn(move |request| {
            started.store(true, Ordering::Relaxed);
            let active = active.load_full();
            let connection = connection.clone();
            async move { Ok::<_, Infallible>(handler::handle(active, connection, port, request).await) }
        })
    };
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .into_owned();
    let connection = graceful.watch(connection);
    let deadline = Duration::from_millis(limits.header_read_timeout_ms);
    tokio::spawn(async move {
        let _counted = counted;
        tokio::pin!(connection);
        let late = tokio::select! {
            result = &mut connection => {
                if let Err(error) = result {
                    debug!(%peer, error = %error, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep(deadline) => !started.load(Ordering::Relaxed),
        };
        if late {
            // HTTP/2 clients start with "PRI"; an HTTP/1.1 answer would mean nothing to them.
            if let Some(spare) = spare
                && first_byte.load(Ordering::Relaxed) != b'P'
            {
                let _ = (&spare).write(REQUEST_TIMEOUT);
                let _ = spare.shutdown(std::net::Shutdown::Both);
            }
            debug!(%peer, "request head not received in time; connection closed");
            return;
        }
        drop(spare);
        if let Err(error) = connection.await {
            debug!(%peer, error = %error, "connection ended with an error");
        }
    });
}

/// A socket that remembers the first byte the client sent, and reads the first request
/// head for framing that hyper resolves silently: hyper lets `transfer-encoding` win over
/// `content-length` (and closes the connection afterwards); Sluice refuses such a request
/// with 400 instead.
struct FirstByte {
    inner: TcpStream,
    first: Arc<AtomicU8>,
    /// The first request head as read so far; `None` once examined.
    head: Option<Vec<u8>>,
    ambiguous: Arc<AtomicBool>,
}

/// Longest first head examined for ambiguous framing (hyper refuses longer heads anyway).
const SNIFF_LIMIT: usize = 64 * 1024;

impl FirstByte {
    fn sniff(&mut self, read: &[u8]) {
        let Some(head) = self.head.as_mut() else {
            return;
        };
        head.extend_from_slice(read);
        let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
            if head.len() > SNIFF_LIMIT {
                self.head = None;
            }
            return;
        };
        let names = head[..end]
            .split(|b| *b == b'\n')
            .skip(1)
            .filter_map(|line| line.split(|b| *b == b':').next())
            .map(|name| name.trim_ascii().to_ascii_lowercase());
        let (mut length, mut encoding) = (false, false);
        for name in names {
            length |= name == b"content-length";
            encoding |= name == b"transfer-encoding";
        }
        if length && encoding {
            self.ambiguous.store(true, Ordering::Relaxed);
        }
        self.head = None;
    }
}

impl tokio::io::AsyncRead for FirstByte {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if before == 0
            && let Some(byte) = buf.filled().first()
        {
            let _ = self
                .first
                .compare_exchange(0, *byte, Ordering::Relaxed, Ordering::Relaxed);
        }
        if self.head.is_some() {
            let read = buf.filled()[before..].to_vec();
            self.sniff(&read);
        }
        result
    }
}

impl tokio::io::AsyncWrite for FirstByte {
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
