//! The data plane's life: start, apply a configuration (build aside, swap once), reload
//! files, shut down.
//!
//! Each configured tcp listener runs an accept loop (`http::listener`). [`DataPlane::apply`]
//! swaps the snapshot whole, binding added listeners before the swap and closing removed
//! ones after it; connections already open keep running.

use sluice_shared::sync::lock;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper_util::server::graceful::GracefulShutdown;
use sluice_shared::RouteTable;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::budget::BodyBudget;
use crate::events::Events;
use crate::exporter::{Exporters, Source};
use crate::guard::GuardKeySets;
use crate::guard::jwks::JwksPool;
use crate::guard::session::SessionRegistry;
use crate::http::bind::listen;
use crate::http::listener::accept_loop;
use crate::kafka::cache::CachePool;
use crate::kafka::dynamic::Dynamic;
use crate::kafka::feed::FeedPool;
use crate::kafka::reply::TapPool;
use crate::kafka::{ClientError, ProducerPool, Producers};
use crate::metrics::Metrics;
use crate::models::ModelRuntime;
use crate::models::registry::RegistryPool;
use crate::otlp::OtlpRunning;
use crate::proxy::upstream::UpstreamClients;
use crate::readiness::{KafkaProbe, NotReady};
use crate::snapshot::{RouteLiveness, Snapshot};
use crate::tls::{Acceptors, TlsError, TlsErrors};
use sluice_shared::table::telemetry::{OtlpExporter, Telemetry};

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
    /// How often feeds of topics named by the request are checked for idleness (retired
    /// after two idle checks); `None` for 30 s.
    pub topic_feed_sweep: Option<Duration>,
    /// Sends traces to this OTLP/HTTP endpoint (`--otlp-traces`), besides the exporters of
    /// the configuration's telemetry.
    pub traces_url: Option<String>,
    /// The share of new traces recorded for `traces_url`, in millionths.
    pub trace_sampling_ppm: u32,
}

struct RunningListener {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

type ListenerKey = (String, u16);

/// Why a configuration could not be applied; the running one stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A tls binding's certificate or key cannot be served.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A Kafka client could not be made, or its topic cannot be read.
    #[error(transparent)]
    Kafka(#[from] ClientError),
    /// A listener cannot be bound (the port is in use, or the address is not local).
    #[error("cannot listen on {host}:{port}: {reason}")]
    Listen {
        /// The configured host.
        host: String,
        /// The configured port.
        port: u16,
        /// The system's reason.
        reason: String,
    },
    /// A bound listener has no local address.
    #[error("listener address: {0}")]
    ListenerAddress(String),
    /// The data plane is shutting down.
    #[error("the data plane is shutting down")]
    ShuttingDown,
    /// A schema a model names cannot be had from its registry.
    #[error("{0}")]
    Schema(String),
}

/// A running data plane.
pub struct DataPlane {
    active: Arc<ArcSwap<Snapshot>>,
    pool: ProducerPool,
    taps: TapPool,
    caches: CachePool,
    feeds: FeedPool,
    jwks: JwksPool,
    sessions: Arc<SessionRegistry>,
    routes: Arc<RouteLiveness>,
    metrics: Arc<Metrics>,
    /// Schema registry clients and their caches, kept across configurations.
    registries: RegistryPool,
    body_budget: Arc<BodyBudget>,
    /// The last Kafka readiness probe.
    kafka_probe: KafkaProbe,
    listeners: Mutex<HashMap<ListenerKey, RunningListener>>,
    /// The `prometheus` endpoints of the configuration's telemetry.
    exporters: Exporters,
    /// The running `otlp` exporters and the telemetry (and namespace) they were made for.
    otlp: std::sync::Mutex<Option<(Telemetry, String, Arc<OtlpRunning>)>>,
    /// Watches open connections; taken by [`DataPlane::shutdown`].
    graceful: std::sync::Mutex<Option<Arc<GracefulShutdown>>>,
    shutdown: watch::Sender<bool>,
    options: DataPlaneOptions,
    /// The live traffic view's recent history.
    traffic: Arc<crate::traffic::Recorder>,
}

impl DataPlane {
    /// Binds the listeners of `table` and starts serving it.
    pub async fn start(table: RouteTable, options: DataPlaneOptions) -> Result<Self, ApplyError> {
        let shutdown = watch::Sender::new(false);
        let dynamic = Dynamic::start(
            options
                .topic_feed_sweep
                .unwrap_or(crate::kafka::dynamic::SWEEP),
        );
        let active = Arc::new(ArcSwap::from_pointee(Snapshot::empty(
            shutdown.subscribe(),
            dynamic.clone(),
        )));
        let traffic = Arc::new(crate::traffic::Recorder::default());
        crate::traffic::start(&traffic, &active, shutdown.subscribe());
        let data_plane = Self {
            active,
            shutdown,
            traffic,
            pool: ProducerPool::default(),
            taps: TapPool::default(),
            caches: CachePool::default(),
            feeds: FeedPool::default(),
            jwks: JwksPool::default(),
            sessions: Arc::default(),
            routes: Arc::default(),
            metrics: Arc::default(),
            registries: RegistryPool::default(),
            body_budget: Arc::new(BodyBudget::new(
                options
                    .body_budget_bytes
                    .unwrap_or(crate::budget::DEFAULT_BODY_BUDGET_BYTES),
            )),
            kafka_probe: KafkaProbe::default(),
            listeners: Mutex::new(HashMap::new()),
            exporters: Exporters::default(),
            otlp: std::sync::Mutex::new(None),
            graceful: std::sync::Mutex::new(Some(Arc::new(GracefulShutdown::new()))),
            options,
        };
        data_plane.apply(table).await?;
        Ok(data_plane)
    }

    /// Validated `table` replaces the active one: new requests use it, requests in flight
    /// finish with the table they started with. On error nothing changes.
    pub async fn apply(&self, mut table: RouteTable) -> Result<(), ApplyError> {
        // Certificates first: a missing or bad file fails the apply before anything starts.
        let tls = Acceptors::load(&table)?;
        let upstreams = UpstreamClients::build(&table)?;
        let models = self.models_for(&table).await?;
        crate::kafka::check_files(&table.clusters)?;
        crate::tls::kafka_stores(&mut table.clusters)?;
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
        let otlp = self.otlp_for(&table);
        let loggers = otlp.loggers();
        let tracing = otlp.tracing();
        let events = Events::new(&table.name, table.telemetry.stdout, loggers, otlp);
        let current_dynamic = self.active.load().dynamic.clone();
        let table = Arc::new(table);
        let active = Snapshot {
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
            events,
            tracing,
            dynamic: current_dynamic,
            upstreams,
            models: Arc::new(models),
        };
        self.swap(active).await?;
        self.end_changed_streams();
        Ok(())
    }

    /// The models of `table`, with every registry schema it names looked up: a registry
    /// that is down, or a subject it does not have, fails the apply instead of every request.
    async fn models_for(&self, table: &RouteTable) -> Result<ModelRuntime, ApplyError> {
        let models =
            ModelRuntime::new(table, &self.registries, self.metrics.model_failures.clone())?;
        models
            .warm(table)
            .await
            .map_err(|error| ApplyError::Schema(error.to_string()))?;
        Ok(models)
    }

    /// Ends the streams of routes the new configuration removed or changed, and guarded
    /// streams whose credentials no longer pass (a key or guard removed); the others go on
    /// untouched.
    fn end_changed_streams(&self) {
        let current = self.active.load();
        let retired = self.routes.retain(current.table.stream_fingerprints());
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
    }

    async fn swap(&self, active: Snapshot) -> Result<(), ApplyError> {
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
        let source = Source {
            active: self.active.clone(),
            budget: self.body_budget.clone(),
        };
        self.exporters
            .reconcile(&table.telemetry, &source, self.options.bind_host)
            .await
            .map_err(|error| ApplyError::Listen {
                host: error.host,
                port: error.port,
                reason: error.reason,
            })?;
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

    async fn bind(&self, (host, port): &ListenerKey) -> Result<TcpListener, ApplyError> {
        let result = match self.options.bind_override {
            Some(addr) => listen(addr).await,
            None => match self.options.bind_host {
                Some(ip) => listen((ip, *port)).await,
                None => listen((host.as_str(), *port)).await,
            },
        };
        result.map_err(|error| ApplyError::Listen {
            host: host.clone(),
            port: *port,
            reason: error.to_string(),
        })
    }

    fn spawn_listener(
        &self,
        port: u16,
        listener: TcpListener,
    ) -> Result<RunningListener, ApplyError> {
        let local_addr = listener
            .local_addr()
            .map_err(|error| ApplyError::ListenerAddress(error.to_string()))?;
        let graceful = lock(&self.graceful)
            .clone()
            .ok_or(ApplyError::ShuttingDown)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            port,
            stopped,
            self.active.clone(),
            graceful,
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
    pub fn check_files(table: &RouteTable) -> Result<(), ApplyError> {
        Acceptors::load(table)?;
        UpstreamClients::build(table)?;
        crate::kafka::check_files(&table.clusters)?;
        crate::tls::kafka_stores(&mut table.clusters.clone())?;
        Ok(())
    }

    /// Reads the certificate and key files of every TLS listener again (SIGHUP). New
    /// handshakes use the new certificate; open connections keep theirs. A listener whose
    /// files do not load keeps its certificate, and the error names them.
    pub fn reload_certificates(&self) -> Result<usize, TlsErrors> {
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
        self.metrics.sse_dropped.load(Ordering::Relaxed)
    }

    /// Whether every Kafka cluster the active configuration uses can take writes and
    /// answers a metadata request within [`crate::readiness::PROBE_TIMEOUT`].
    pub async fn kafka_ready(&self) -> Result<(), NotReady> {
        self.kafka_probe.check(self.active.load_full()).await
    }

    /// Appends the data plane's metrics, Prometheus text format, to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        crate::exporter::render(&self.active.load(), &self.body_budget, out);
    }

    /// The live traffic view's recent history.
    pub fn traffic(&self) -> &crate::traffic::Recorder {
        &self.traffic
    }

    /// The `otlp` exporters `table` asks for: the running ones when its telemetry did not
    /// change, else new ones (the old ones stop when their last configuration goes).
    fn otlp_for(&self, table: &RouteTable) -> Arc<OtlpRunning> {
        let mut current = lock(&self.otlp);
        if let Some((telemetry, namespace, running)) = current.as_ref()
            && *telemetry == table.telemetry
            && *namespace == table.name
        {
            return running.clone();
        }
        let source = Source {
            active: self.active.clone(),
            budget: self.body_budget.clone(),
        };
        let mut telemetry = table.telemetry.clone();
        if let Some(url) = &self.options.traces_url {
            telemetry.otlp.push(OtlpExporter {
                exporter: "--otlp-traces".to_owned(),
                metrics_url: None,
                logs_url: None,
                traces_url: Some(url.clone()),
                sampling_ppm: self.options.trace_sampling_ppm,
                interval_seconds: 30,
                authorization: None,
                tls: None,
            });
        }
        let running = Arc::new(crate::otlp::start(&telemetry, &table.name, &source));
        *current = Some((table.telemetry.clone(), table.name.clone(), running.clone()));
        running
    }

    /// Where the `prometheus` exporter endpoint configured on `port` is bound.
    pub async fn exporter_addr(&self, port: u16) -> Option<SocketAddr> {
        self.exporters.local_addr(port).await
    }

    /// The active route table.
    pub fn table(&self) -> Arc<RouteTable> {
        self.active.load().table.clone()
    }

    /// Stops accepting, lets requests in flight finish for up to `grace`, then returns. A
    /// second call returns at once.
    pub async fn shutdown(&self, grace: Duration) {
        // Event streams never end on their own: end them, so clients reconnect elsewhere.
        self.shutdown.send_replace(true);
        self.exporters.stop().await;
        let listeners = std::mem::take(&mut *self.listeners.lock().await);
        for (_, running) in listeners {
            let _ = running.stop.send(true);
            let _ = running.task.await;
        }
        let graceful = lock(&self.graceful).take();
        // The accept loops held the other references; they have ended.
        let Some(Ok(graceful)) = graceful.map(Arc::try_unwrap) else {
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

fn attach(pool: &ProducerPool, table: &RouteTable) -> Result<Producers, ClientError> {
    let uses = table
        .produce_actions()
        .map(|action| (action.cluster, action.acks));
    pool.attach(&table.clusters, uses)
}
