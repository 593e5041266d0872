//! The running gateway: configuration source, Kafka source, data plane.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sluice_dataplane::{DataPlane, DataPlaneOptions, EmbeddedBroker};
use sluice_shared::{CompileOptions, ConfigErrors, ConfigSpec, QUICKSTART_CONFIG, RouteTable};
use tokio::sync::Mutex;
use tracing::{error, info, warn};

use crate::config::{self, ConfigLoadError};
use crate::store::handle::StoreHandle;
use crate::store::{Change, Committed, ConfigStore, Revision, SledStore, StoreError};

/// Partitions of each topic created on the embedded broker.
const EMBEDDED_PARTITIONS: i32 = 1;

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// The built-in quick-start.
    Quickstart,
    /// A file, re-read on every reload.
    File(PathBuf),
    /// Text given directly (tests).
    Text(String),
}

impl ConfigSource {
    fn name(&self) -> String {
        match self {
            Self::Quickstart => "the quick-start configuration".to_owned(),
            Self::File(path) => path.display().to_string(),
            Self::Text(_) => "the configuration".to_owned(),
        }
    }

    fn read(&self) -> Result<String, ConfigLoadError> {
        match self {
            Self::Quickstart => Ok(QUICKSTART_CONFIG.to_owned()),
            Self::File(path) => config::read_file(path),
            Self::Text(text) => Ok(text.clone()),
        }
    }
}

/// Which Kafka to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaSource {
    /// The configuration's servers; the embedded broker for clients that name none.
    Config,
    /// The embedded development broker for every client.
    Embedded,
    /// These bootstrap servers for every client.
    Servers(Vec<String>),
}

impl KafkaSource {
    /// Reads the `--kafka` flag.
    pub fn from_flag(flag: Option<&str>) -> Result<Self, String> {
        match flag.map(str::trim) {
            None => Ok(Self::Config),
            Some("embedded") => Ok(Self::Embedded),
            Some(list) => {
                let servers: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                let bad = servers.iter().find(|s| match s.rsplit_once(':') {
                    Some((host, port)) => host.is_empty() || port.parse::<u16>().is_err(),
                    None => true,
                });
                match bad {
                    _ if servers.is_empty() => {
                        Err("--kafka needs host:port[,host:port] or embedded".to_owned())
                    }
                    Some(bad) => Err(format!("--kafka: '{bad}' is not host:port")),
                    None => Ok(Self::Servers(servers)),
                }
            }
        }
    }
}

/// Everything needed to start an [`App`].
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Configuration source.
    pub config: ConfigSource,
    /// Kafka source.
    pub kafka: KafkaSource,
    /// Data-plane settings.
    pub data_plane: DataPlaneOptions,
    /// Directory of the configuration store; `None` runs without one (tests, `validate`).
    pub data_dir: Option<PathBuf>,
}

/// Why the app could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigLoadError),
    /// The embedded broker could not start or create a topic.
    #[error("embedded broker: {0}")]
    Embedded(String),
    /// The data plane refused the configuration (listener or Kafka client).
    #[error("{0}")]
    DataPlane(String),
    /// The configuration store failed.
    #[error("configuration store: {0}")]
    Store(#[from] StoreError),
}

/// A change of the whole configuration, as the admin API receives it.
#[derive(Debug, Clone)]
pub struct ConfigChange {
    /// The new configuration, as JSON.
    pub config: Value,
    /// Who.
    pub author: String,
    /// Why.
    pub message: String,
    /// The head revision the change is based on (`If-Match`), when given.
    pub expected: Option<Option<u64>>,
    /// Validate and compare only.
    pub dry_run: bool,
    /// What was done, for the audit log (`PUT /v1/config`).
    pub action: String,
}

/// What a change did.
#[derive(Debug, Clone)]
pub enum ChangeOutcome {
    /// Applied as a new revision.
    Applied(Revision),
    /// Equal to the live configuration: nothing changed.
    Unchanged(Revision),
    /// A dry run: valid; the differences with the head.
    Valid(Value),
}

/// Why a change was refused; the live configuration is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The configuration is invalid; every problem with its pointer.
    #[error("the configuration is invalid")]
    Invalid(ConfigErrors),
    /// The head is not the expected one.
    #[error("the configuration changed meanwhile (head is revision {head:?})")]
    Conflict {
        /// The head.
        head: Option<u64>,
    },
    /// Valid, but the data plane could not apply it (listener, Kafka client); not kept as
    /// the head.
    #[error("{0}")]
    NotApplied(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// There is no store (the app runs without `--data-dir`).
    #[error("this gateway runs without a configuration store")]
    NoStore,
}

/// What the admin API reports in `/v1/status`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// The revision the data plane serves.
    pub live_revision: Option<u64>,
    /// When it was applied, milliseconds since the epoch.
    pub applied_ms: Option<u64>,
    /// The last refused change: when and why.
    pub last_rejected: Option<Rejected>,
    /// Separate data planes (`sluice dataplane`) following this control plane.
    pub data_planes: Vec<DataPlaneReport>,
}

/// What a separate data plane last said about itself when it polled for revisions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataPlaneReport {
    /// Its `--id`.
    pub id: String,
    /// The revision it serves, if any.
    pub applied_revision: Option<u64>,
    /// Why the last revision it received did not apply there, if it did not.
    pub last_error: Option<String>,
    /// When it last polled, milliseconds since the epoch.
    pub last_seen_ms: u64,
    /// Whether it polled within the last 90 seconds (a poll waits at most 60).
    pub connected: bool,
}

/// Data planes remembered at most; the longest silent is forgotten first.
const MAX_DATA_PLANES: usize = 1_000;
/// A data plane is shown as connected when it polled within this time.
const CONNECTED_WITHIN_MS: u64 = 90_000;

/// A refused change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    /// When, milliseconds since the epoch.
    pub time_ms: u64,
    /// Why.
    pub reason: String,
}

/// Appends the configuration's series: live revision, when applied, applies and refusals.
pub(crate) fn render_config_metrics(
    out: &mut String,
    status: &Status,
    applies: u64,
    refusals: u64,
) {
    use std::fmt::Write as _;
    let revision = status
        .live_revision
        .map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX));
    let applied = status.applied_ms.map_or(0.0, |ms| ms as f64 / 1000.0);
    let _ = writeln!(
        out,
        "# HELP sluice_config_revision The revision the data plane serves (-1: none stored).\n# TYPE sluice_config_revision gauge\nsluice_config_revision {revision}\n# HELP sluice_config_applied_timestamp_seconds When the live configuration was applied.\n# TYPE sluice_config_applied_timestamp_seconds gauge\nsluice_config_applied_timestamp_seconds {applied}\n# HELP sluice_config_applies_total Configuration changes applied since start.\n# TYPE sluice_config_applies_total counter\nsluice_config_applies_total {applies}\n# HELP sluice_config_rejected_total Configuration changes refused since start (invalid, or not applicable).\n# TYPE sluice_config_rejected_total counter\nsluice_config_rejected_total {refusals}"
    );
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A running Sluice.
pub struct App {
    data_plane: DataPlane,
    embedded: Option<EmbeddedBroker>,
    config: ConfigSource,
    compile_options: CompileOptions,
    reload_lock: Mutex<()>,
    store: Option<StoreHandle>,
    status: std::sync::Mutex<Status>,
    /// The live revision, for long-polls of `GET /v1/config`.
    live: tokio::sync::watch::Sender<Option<u64>>,
    /// Separate data planes, by id.
    data_planes: std::sync::Mutex<std::collections::BTreeMap<String, DataPlaneReport>>,
    /// Changes applied since start.
    applies: AtomicU64,
    /// Changes refused since start: invalid, or not applicable to the data plane.
    refusals: AtomicU64,
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
        };
        let table = config::compile(&spec, &compile_options, &source)?;
        let needs_embedded = app_config.kafka == KafkaSource::Embedded
            || table
                .clusters
                .iter()
                .any(|cluster| cluster.servers.is_empty());
        let embedded = if needs_embedded {
            let broker = EmbeddedBroker::start().map_err(AppError::Embedded)?;
            warn!(
                bootstrap = broker.bootstrap_servers(),
                "USING THE EMBEDDED DEVELOPMENT BROKER: in memory only, about 5 MiB or 100k messages kept per partition, no admin API. Give --kafka host:port for a real cluster."
            );
            let servers = vec![broker.bootstrap_servers().to_owned()];
            if app_config.kafka == KafkaSource::Embedded {
                compile_options.kafka_servers = Some(servers);
            } else {
                compile_options.fallback_servers = Some(servers);
            }
            Some(broker)
        } else {
            None
        };
        let table = config::compile(&spec, &compile_options, &source)?;
        create_embedded_topics(embedded.as_ref(), &table)?;
        let data_plane = DataPlane::start(table, app_config.data_plane)
            .await
            .map_err(AppError::DataPlane)?;
        info!(config = %source, "sluice started");
        if let (Some(store), Some(number)) = (&store, revision) {
            store.mark_good(number).await?;
        }
        Ok(Self {
            data_plane,
            embedded,
            config: app_config.config,
            compile_options,
            reload_lock: Mutex::new(()),
            store,
            status: std::sync::Mutex::new(Status {
                live_revision: revision,
                applied_ms: Some(now_ms()),
                last_rejected: None,
                data_planes: Vec::new(),
            }),
            live: tokio::sync::watch::Sender::new(revision),
            data_planes: std::sync::Mutex::default(),
            applies: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        })
    }

    /// The configuration store, when the app has one.
    pub fn store(&self) -> Option<&StoreHandle> {
        self.store.as_ref()
    }

    /// Live revision, when applied, last refusal, data planes.
    pub fn status(&self) -> Status {
        let mut status = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        let now = now_ms();
        if let Ok(planes) = self.data_planes.lock() {
            status.data_planes = planes
                .values()
                .map(|report| DataPlaneReport {
                    connected: now.saturating_sub(report.last_seen_ms) < CONNECTED_WITHIN_MS,
                    ..report.clone()
                })
                .collect();
        }
        status
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
        let Ok(mut planes) = self.data_planes.lock() else {
            return;
        };
        if !planes.contains_key(&id)
            && planes.len() >= MAX_DATA_PLANES
            && let Some(oldest) = planes
                .values()
                .min_by_key(|report| report.last_seen_ms)
                .map(|report| report.id.clone())
        {
            planes.remove(&oldest);
        }
        planes.insert(
            id.clone(),
            DataPlaneReport {
                id,
                applied_revision,
                last_error,
                last_seen_ms: now_ms(),
                connected: true,
            },
        );
    }

    fn rejected(&self, reason: String) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut status) = self.status.lock() {
            status.last_rejected = Some(Rejected {
                time_ms: now_ms(),
                reason,
            });
        }
    }

    /// Validates, compiles, persists and applies a whole new configuration; on any error
    /// the live configuration and the head stay as they were.
    pub async fn change(&self, mut change: ConfigChange) -> Result<ChangeOutcome, ChangeError> {
        let store = self.store.as_ref().ok_or(ChangeError::NoStore)?;
        let _serialized = self.reload_lock.lock().await;
        let head = store.head().await?;
        // Secrets sent back as '***' (as the admin API shows them) keep their stored value.
        sluice_shared::secrets::restore(&mut change.config, head.as_ref().map(|h| &h.config))
            .map_err(ChangeError::Invalid)?;
        let text = change.config.to_string();
        let compiled = sluice_shared::parse_config(&text).and_then(|spec| {
            RouteTable::compile(&spec, &self.compile_options).map(|table| (spec, table))
        });
        let (spec, table) = match compiled {
            Ok(compiled) => compiled,
            Err(errors) => {
                if !change.dry_run {
                    let detail = errors.to_string();
                    store
                        .record(&change.author, &change.action, "rejected", &detail)
                        .await?;
                    self.rejected(detail);
                }
                return Err(ChangeError::Invalid(errors));
            }
        };
        let canonical = canonical(&spec);
        if change.dry_run {
            if let Some(expected) = change.expected
                && expected != head.as_ref().map(|h| h.number)
            {
                return Err(ChangeError::Conflict {
                    head: head.map(|h| h.number),
                });
            }
            // Files the configuration names (TLS certificates) are checked too, so that a
            // review shows what the apply would refuse.
            DataPlane::check_files(&table).map_err(ChangeError::NotApplied)?;
            return Ok(ChangeOutcome::Valid(diff(
                head.as_ref().map(|h| &h.config),
                &canonical,
            )));
        }
        let committed = store
            .commit(
                Change {
                    config: canonical,
                    author: change.author.clone(),
                    message: change.message,
                },
                change.expected,
                &change.action,
            )
            .await
            .map_err(|error| match error {
                StoreError::Conflict { head } => ChangeError::Conflict { head },
                other => ChangeError::Store(other),
            })?;
        let revision = match committed {
            Committed::Unchanged(revision) => return Ok(ChangeOutcome::Unchanged(revision)),
            Committed::New(revision) => revision,
        };
        let applied = match create_embedded_topics(self.embedded.as_ref(), &table) {
            Ok(()) => self.data_plane.apply(table).await,
            Err(error) => Err(error.to_string()),
        };
        if let Err(reason) = applied {
            // Persisted but not applicable here (a port in use, a Kafka client refused):
            // the head goes back to what runs.
            store
                .reset_head(revision.parent, &change.author, &reason)
                .await?;
            self.rejected(reason.clone());
            return Err(ChangeError::NotApplied(reason));
        }
        store.mark_good(revision.number).await?;
        self.applies.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut status) = self.status.lock() {
            status.live_revision = Some(revision.number);
            status.applied_ms = Some(now_ms());
        }
        self.live.send_replace(Some(revision.number));
        info!(revision = revision.number, author = %change.author, "configuration applied");
        Ok(ChangeOutcome::Applied(revision))
    }

    /// Reads the configuration again and swaps it in whole; on any error the running
    /// configuration stays as it is.
    ///
    /// With a store, only a `--config` file is applied, and only when its text changed since
    /// it was last applied: a SIGHUP sent to renew certificates never undoes a change made
    /// through the admin API, and without `--config` it creates no revision.
    pub async fn reload(&self) -> Result<(), AppError> {
        let source = self.config.name();
        if let Some(store) = &self.store {
            let ConfigSource::File(_) = &self.config else {
                info!("no --config file: SIGHUP applies no configuration");
                return Ok(());
            };
            let text = self.config.read()?;
            let digest = crate::store::text_digest(&text);
            if store.config_file_digest().await?.as_deref() == Some(digest.as_str()) {
                info!(config = %source, "--config is unchanged since it was last applied; no new revision");
                return Ok(());
            }
            let spec = config::parse(&text, &source)?;
            let change = ConfigChange {
                config: canonical(&spec),
                author: "SIGHUP".to_owned(),
                message: format!("{source} re-read on SIGHUP"),
                expected: None,
                dry_run: false,
                action: "SIGHUP".to_owned(),
            };
            return match self.change(change).await {
                Ok(_) => {
                    store.set_config_file_digest(&digest).await?;
                    Ok(())
                }
                Err(ChangeError::Invalid(errors)) => {
                    Err(AppError::Config(ConfigLoadError::Invalid {
                        source_name: source,
                        errors,
                    }))
                }
                Err(other) => Err(AppError::DataPlane(other.to_string())),
            };
        }
        let _serialized = self.reload_lock.lock().await;
        let spec = config::parse(&self.config.read()?, &source)?;
        let table = config::compile(&spec, &self.compile_options, &source)?;
        create_embedded_topics(self.embedded.as_ref(), &table)?;
        self.data_plane
            .apply(table)
            .await
            .map_err(AppError::DataPlane)
    }

    /// Reads the certificates of every TLS listener again (see
    /// `DataPlane::reload_certificates`).
    pub fn reload_certificates(&self) -> Result<usize, String> {
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

    /// Every metric, Prometheus text format: the data plane's and the configuration's.
    pub fn render_metrics(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.data_plane.render_metrics(&mut out);
        let status = self.status();
        render_config_metrics(
            &mut out,
            &status,
            self.applies.load(Ordering::Relaxed),
            self.refusals.load(Ordering::Relaxed),
        );
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

/// The stored form of a configuration: its spec as JSON.
pub fn canonical(spec: &ConfigSpec) -> Value {
    serde_json::to_value(spec).unwrap_or(Value::Null)
}

/// The spec of a stored revision.
pub fn spec_of(revision: &Revision) -> Result<ConfigSpec, ConfigErrors> {
    sluice_shared::parse_config(&revision.config.to_string())
}

/// What a change does to bindings and guards, by name.
pub fn diff(before: Option<&Value>, after: &Value) -> Value {
    let section = |name: &str| {
        let empty = serde_json::Map::new();
        let old = before
            .and_then(|b| b.get(name))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new = after.get(name).and_then(Value::as_object).unwrap_or(&empty);
        let added: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
        let removed: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
        let changed: Vec<&String> = new
            .iter()
            .filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v))
            .map(|(k, _)| k)
            .collect();
        serde_json::json!({ "added": added, "removed": removed, "changed": changed })
    };
    serde_json::json!({
        "name_changed": before.and_then(|b| b.get("name")) != after.get("name"),
        "bindings": section("bindings"),
        "guards": section("guards"),
    })
}

/// The revision to start from: the file given with `--config` when it differs from the
/// head (it becomes a new revision); else the head; the built-in quick-start for an empty
/// store. A head that does not compile falls back to the last good revision, loudly.
/// The revision to start from. A `--config` file (`file`: its text's digest) wins when it
/// changed since it was last applied; otherwise the store's head wins, so that a restart
/// with the same file keeps the changes made through the admin API since.
fn initial_revision(
    store: &SledStore,
    file: Option<&str>,
    spec: &ConfigSpec,
    name: &str,
) -> Result<Revision, AppError> {
    let head = match store.head() {
        Ok(head) => head,
        Err(error) => {
            error!(error = %error, "THE HEAD REVISION CANNOT BE READ; falling back to the last good revision");
            None
        }
    };
    let file_changed = match file {
        Some(digest) => store.config_file_digest()?.as_deref() != Some(digest),
        None => false,
    };
    if file.is_some() && !file_changed && head.is_some() {
        info!(config = %name, "--config is unchanged since it was last applied; the stored head runs");
    }
    let given = file_changed || head.is_none();
    if given {
        // Nothing that does not compile is ever stored.
        RouteTable::compile(spec, &CompileOptions::default()).map_err(|errors| {
            ConfigLoadError::Invalid {
                source_name: name.to_owned(),
                errors,
            }
        })?;
        let change = Change {
            config: canonical(spec),
            author: "sluice serve".to_owned(),
            message: format!("{name} at start"),
        };
        let revision = match store.commit(change, None, "serve --config")? {
            Committed::New(revision) | Committed::Unchanged(revision) => revision,
        };
        if let Some(digest) = file {
            store.set_config_file_digest(digest)?;
        }
        return Ok(revision);
    }
    if let Some(head) = head {
        match spec_of(&head) {
            Ok(spec) if RouteTable::compile(&spec, &CompileOptions::default()).is_ok() => {
                return Ok(head);
            }
            _ => error!(
                revision = head.number,
                "THE HEAD REVISION DOES NOT COMPILE; starting from the last good revision instead"
            ),
        }
    }
    match store.good()? {
        Some(good) => {
            warn!(
                revision = good.number,
                "starting from the last good revision"
            );
            Ok(good)
        }
        None => Err(AppError::DataPlane(
            "the store has no revision that compiles; start with --config FILE".to_owned(),
        )),
    }
}

fn create_embedded_topics(
    embedded: Option<&EmbeddedBroker>,
    table: &RouteTable,
) -> Result<(), AppError> {
    let Some(broker) = embedded else {
        return Ok(());
    };
    for cluster in &table.clusters {
        if cluster.servers.first().map(String::as_str) != Some(broker.bootstrap_servers()) {
            continue;
        }
        for topic in &cluster.topics {
            broker
                .create_topic(topic, EMBEDDED_PARTITIONS)
                .map_err(AppError::Embedded)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_flag_forms() {
        assert_eq!(KafkaSource::from_flag(None), Ok(KafkaSource::Config));
        assert_eq!(
            KafkaSource::from_flag(Some("embedded")),
            Ok(KafkaSource::Embedded)
        );
        assert_eq!(
            KafkaSource::from_flag(Some("a:1, b:2")),
            Ok(KafkaSource::Servers(vec!["a:1".into(), "b:2".into()]))
        );
        assert!(KafkaSource::from_flag(Some("nohost")).is_err());
        assert!(KafkaSource::from_flag(Some(",")).is_err());
    }
}
