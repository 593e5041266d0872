//! Listeners and connections.
//!
//! Each configured tcp listener runs an accept loop; each accepted connection is served by
//! hyper (HTTP/1.1, and HTTP/2 with prior knowledge on the same port) with the limits of its
//! `http` binding. [`DataPlane::apply`] swaps the active configuration whole, binding added
//! listeners before the swap and closing removed ones after it; connections already open
//! keep running.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
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

use crate::handler;
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
            shutdown: shutdown.subscribe(),
        }));
        let data_plane = Self {
            active,
            shutdown,
            pool: ProducerPool::default(),
            taps: TapPool::default(),
            caches: CachePool::default(),
            feeds: FeedPool::default(),
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
        self.swap(table, producers, taps, caches, feeds).await
    }

    async fn swap(
        &self,
        table: RouteTable,
        producers: Producers,
        taps: ReplyTaps,
        caches: TopicCaches,
        feeds: TopicFeeds,
    ) -> Result<(), String> {
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
        self.active.store(Arc::new(Active {
            table: Arc::new(table),
            producers,
            taps,
            caches,
            feeds,
            shutdown: self.shutdown.subscribe(),
        }));
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
        crate::proxy::sse::DROPPED_STREAMS.load(std::sync::atomic::Ordering::Relaxed)
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
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => serve(stream, peer, port, &active, &graceful),
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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(usize::try_from(limits.max_header_bytes.max(8192)).unwrap_or(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .adaptive_window(true);
    match (server.http1, server.h2) {
        (true, false) => builder.http1_only(),
        (false, true) => builder.http2_only(),
        _ => builder,
    }
}

fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    port: u16,
    active: &Arc<ArcSwap<Active>>,
    graceful: &GracefulShutdown,
) {
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%peer, error = %error, "cannot set TCP_NODELAY");
    }
    let builder = {
        let current = active.load();
        match current.table.server_for_port(port) {
            Some(server) => builder(server),
            None => return, // listener removed; the connection is dropped
        }
    };
    let active = active.clone();
    let service = service_fn(move |request| {
        let active = active.load_full();
        async move { Ok::<_, Infallible>(handler::handle(active, port, request).await) }
    });
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            debug!(%peer, error = %error, "connection ended with an error");
        }
    });
}
