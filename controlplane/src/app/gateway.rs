//! The running gateway: an [`App`] starts the embedded broker when one is needed, the data
//! plane and the store, and answers for them. Changes are in `change`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sluice_dataplane::{DataPlane, EmbeddedBroker};
use sluice_shared::{CompileOptions, RouteTable};
use tokio::sync::Mutex;
use tracing::info;

use super::board::{Status, StatusBoard};
use super::document::spec_of;
use super::errors::AppError;
use super::source::{AppConfig, ConfigSource, KafkaSource};
use super::startup::{create_embedded_topics, embedded_broker, initial_revision};
use crate::config::{self, ConfigLoadError};
use crate::store::handle::StoreHandle;

/// A running Sluice.
pub struct App {
    pub(super) data_plane: DataPlane,
    pub(super) embedded: Option<EmbeddedBroker>,
    pub(super) config: ConfigSource,
    pub(super) compile_options: CompileOptions,
    /// One change at a time: a change's validate, persist and swap are one step.
    pub(super) reload_lock: Mutex<()>,
    pub(super) store: Option<StoreHandle>,
    pub(super) board: StatusBoard,
    /// The live revision, for long-polls of `GET /v1/config`.
    pub(super) live: tokio::sync::watch::Sender<Option<u64>>,
}

impl App {
    /// Reads, validates and compiles the configuration, starts the embedded broker if one is
    /// needed, binds the listeners and starts serving. Nothing is bound when the
    /// configuration is invalid.
    pub async fn start(app_config: AppConfig) -> Result<Self, AppError> {
        let mut source = app_config.config.name();
        let text = app_config.config.read()?;
        let mut spec = config::parse(&text, &source)?;
        let store = match &app_config.data_dir {
            Some(dir) => {
                // An invalid --config is refused before the store is even opened.
                config::compile(&spec, &CompileOptions::default(), &source)?;
                Some(StoreHandle::open(dir.clone()).await?)
            }
            None => None,
        };
        let mut revision = None;
        if let Some(store) = &store {
            let file = matches!(app_config.config, ConfigSource::File(_))
                .then(|| crate::store::text_digest(&text));
            let (given, name) = (spec.clone(), source.clone());
            let chosen = store
                .run(move |store| initial_revision(store, file.as_deref(), &given, &name))
                .await?;
            source = format!("revision {}", chosen.number);
            spec = spec_of(&chosen).map_err(|errors| ConfigLoadError::Invalid {
                source_name: source.clone(),
                errors,
            })?;
            revision = Some(chosen.number);
        }
        let mut compile_options = CompileOptions {
            kafka_servers: match &app_config.kafka {
                KafkaSource::Servers(servers) => Some(servers.clone()),
                _ => None,
            },
            fallback_servers: None,
            base_dir: app_config.config.base_dir(),
        };
        let table = config::compile(&spec, &compile_options, &source)?;
        let embedded = embedded_broker(&app_config.kafka, &table, &mut compile_options)?;
        let table = config::compile(&spec, &compile_options, &source)?;
        create_embedded_topics(embedded.as_ref(), &table)?;
        let data_plane = DataPlane::start(table, app_config.data_plane).await?;
        info!(config = %source, "sluice started");
        if let (Some(store), Some(number)) = (&store, revision) {
            store.mark_good(number).await?;
            data_plane.traffic().mark(number);
        }
        Ok(Self {
            data_plane,
            embedded,
            config: app_config.config,
            compile_options,
            reload_lock: Mutex::new(()),
            store,
            board: StatusBoard::new(revision),
            live: tokio::sync::watch::Sender::new(revision),
        })
    }

    /// The configuration store, when the app has one.
    pub fn store(&self) -> Option<&StoreHandle> {
        self.store.as_ref()
    }

    /// Live revision, when applied, last refusal, data planes.
    pub fn status(&self) -> Status {
        self.board.status()
    }

    /// A receiver of the live revision: it changes when a change is applied.
    pub fn live_revisions(&self) -> tokio::sync::watch::Receiver<Option<u64>> {
        self.live.subscribe()
    }

    /// Records what a separate data plane says about itself.
    pub fn report_data_plane(
        &self,
        id: String,
        applied_revision: Option<u64>,
        last_error: Option<String>,
    ) {
        self.board
            .report_data_plane(id, applied_revision, last_error);
    }

    /// Reads the certificates of every TLS listener again (see
    /// `DataPlane::reload_certificates`).
    pub fn reload_certificates(&self) -> Result<usize, sluice_dataplane::TlsErrors> {
        self.data_plane.reload_certificates()
    }

    /// Reads every JWKS URL in use again now (see `DataPlane::reload_jwks`).
    pub fn reload_jwks(&self) -> usize {
        self.data_plane.reload_jwks()
    }

    /// Whether every Kafka cluster in use answers (see `DataPlane::kafka_ready`).
    pub async fn kafka_ready(&self) -> Result<(), sluice_dataplane::NotReady> {
        self.data_plane.kafka_ready().await
    }

    /// The live traffic view's recent history.
    pub fn traffic(&self) -> &sluice_dataplane::traffic::Recorder {
        self.data_plane.traffic()
    }

    /// Every metric, Prometheus text format: the data plane's and the configuration's.
    pub fn render_metrics(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.data_plane.render_metrics(&mut out);
        self.board.render(&mut out);
        out
    }

    /// Where the listener configured on `port` is bound.
    pub async fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        self.data_plane.local_addr(port).await
    }

    /// The embedded broker's bootstrap address, when it runs.
    pub fn embedded_bootstrap(&self) -> Option<&str> {
        self.embedded
            .as_ref()
            .map(EmbeddedBroker::bootstrap_servers)
    }

    /// Requests waiting for a Kafka reply right now.
    pub fn reply_waiters(&self) -> usize {
        self.data_plane.reply_waiters()
    }

    /// SSE streams dropped so far because their client stopped reading.
    pub fn sse_dropped(&self) -> u64 {
        self.data_plane.sse_dropped()
    }

    /// The active route table.
    pub fn table(&self) -> Arc<RouteTable> {
        self.data_plane.table()
    }

    /// Stops accepting, gives requests in flight up to `grace`, then stops.
    /// The embedded broker, if any, stops when the app is dropped.
    pub async fn shutdown(&self, grace: Duration) {
        self.data_plane.shutdown(grace).await;
    }
}
