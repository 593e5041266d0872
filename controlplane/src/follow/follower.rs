//! The follower: start from the local last good revision or the control plane's head, then
//! follow the control plane; its own admin listener.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sluice_dataplane::{ApplyError, DataPlane};
use sluice_shared::sync::lock;
use sluice_shared::{CompileOptions, ConfigErrors, RouteTable};
use tracing::{error, info, warn};

use super::local::{read_last_good, write_last_good};
use super::poll::{Received, poll};
use super::state::{FollowConfig, FollowState};
use crate::admin::{self, Admin, Answer};
use crate::app::{Status, render_config_metrics};

/// First and longest pause between failed polls.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(5));

/// A running data plane that follows a control plane.
pub struct Follower {
    config: FollowConfig,
    compile_options: CompileOptions,
    data_plane: DataPlane,
    state: std::sync::Mutex<FollowState>,
    client: Client<HttpConnector, Empty<Bytes>>,
    applies: AtomicU64,
    refusals: AtomicU64,
}

/// Why the follower could not start.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The control plane URL is not usable.
    #[error("--control-plane: {0}")]
    ControlPlane(String),
    /// The data directory is not usable.
    #[error("data directory {path}: {error}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The first configuration could not be served.
    #[error(transparent)]
    Start(#[from] ApplyError),
}

/// Why a revision from the control plane is not served here.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// It holds secrets redacted (this data plane has no admin token).
    #[error(
        "the control plane sent {0} redacted; give this data plane the admin token (--admin-token-file or SLUICE_ADMIN_TOKEN) so that it receives the secrets"
    )]
    Redacted(String),
    /// It does not compile here.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// A kafka client names no servers, and this data plane was given none.
    #[error("kafka binding '{0}' names no servers; give this data plane --kafka")]
    NoServers(String),
    /// The data plane refused it.
    #[error(transparent)]
    NotApplied(#[from] ApplyError),
}

impl Follower {
    /// Starts serving the local last good revision, or the control plane's head when there
    /// is none (waiting for the control plane as long as it takes).
    pub async fn start(config: FollowConfig) -> Result<Arc<Self>, FollowError> {
        check_url(&config.control_plane)?;
        std::fs::create_dir_all(&config.data_dir).map_err(|error| FollowError::DataDir {
            path: config.data_dir.clone(),
            error,
        })?;
        let compile_options = CompileOptions {
            kafka_servers: config.kafka.clone(),
            fallback_servers: None,
            base_dir: None,
        };
        let client = Client::builder(TokioExecutor::new()).build_http();
        let mut state = FollowState::default();
        let (number, table, fetched) = match local_start(&config, &compile_options) {
            Some((number, table)) => (number, table, None),
            None => {
                let (received, table) =
                    first_revision(&client, &config, &mut state, &compile_options).await;
                (received.number, table, Some(received))
            }
        };
        let data_plane = DataPlane::start(table, config.data_plane.clone()).await?;
        if let Some(fetched) = &fetched
            && let Err(error) = write_last_good(&config.data_dir, fetched).await
        {
            warn!(error = %error, "cannot keep the revision locally");
        }
        state.applied_revision = Some(number);
        state.applied_ms = Some(now_ms());
        state.seen = Some(number);
        state.last_error = None;
        Ok(Arc::new(Self {
            config,
            compile_options,
            data_plane,
            state: std::sync::Mutex::new(state),
            client,
            applies: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        }))
    }

    /// Follows the control plane until the task is dropped.
    pub async fn follow(self: Arc<Self>) {
        let mut pause = BACKOFF.0;
        loop {
            let state = self.state();
            match poll(&self.client, &self.config, &state, true).await {
                Ok(received) => {
                    pause = BACKOFF.0;
                    if !state.reachable {
                        info!(control_plane = %self.config.control_plane, "control plane reachable");
                    }
                    self.update(|s| {
                        s.reachable = true;
                        s.last_contact_ms = Some(now_ms());
                    });
                    if let Some(received) = received {
                        self.apply(received).await;
                    }
                }
                Err(reason) => {
                    if state.reachable {
                        warn!(control_plane = %self.config.control_plane, reason = %reason, revision = ?state.applied_revision, "control plane unreachable; serving the revision applied last");
                    }
                    self.update(|s| s.reachable = false);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(BACKOFF.1);
                }
            }
        }
    }

    async fn apply(&self, received: Received) {
        let number = received.number;
        let applied = match compile(&received, &self.compile_options) {
            Ok(table) => self
                .data_plane
                .apply(table)
                .await
                .map_err(RevisionError::from),
            Err(refused) => Err(refused),
        };
        match applied {
            Ok(()) => {
                if let Err(error) = write_last_good(&self.config.data_dir, &received).await {
                    warn!(error = %error, "cannot keep the revision locally");
                }
                self.applies.fetch_add(1, Ordering::Relaxed);
                info!(revision = number, "configuration applied");
                self.update(|s| {
                    s.applied_revision = Some(number);
                    s.applied_ms = Some(now_ms());
                    s.seen = Some(number);
                    s.last_error = None;
                });
            }
            Err(reason) => {
                self.refusals.fetch_add(1, Ordering::Relaxed);
                error!(
                    revision = number,
                    reason = %reason, "revision not applied here; the previous one stays active"
                );
                self.update(|s| {
                    s.seen = Some(number);
                    s.last_error = Some(format!("revision {number}: {reason}"));
                });
            }
        }
    }

    fn state(&self) -> FollowState {
        lock(&self.state).clone()
    }

    fn update(&self, change: impl FnOnce(&mut FollowState)) {
        {
            let mut state = lock(&self.state);
            change(&mut state);
        }
    }

    /// Where the listener configured on `port` is bound.
    pub async fn local_addr(&self, port: u16) -> Option<std::net::SocketAddr> {
        self.data_plane.local_addr(port).await
    }

    /// The revision served, if any.
    pub fn applied_revision(&self) -> Option<u64> {
        self.state().applied_revision
    }

    /// The data plane's own status document.
    pub fn status(&self) -> Value {
        let state = self.state();
        json!({
            "id": self.config.id,
            "live_revision": state.applied_revision,
            "applied_ms": state.applied_ms,
            "last_error": state.last_error,
            "control_plane": {
                "url": self.config.control_plane.to_string(),
                "reachable": state.reachable,
                "last_contact_ms": state.last_contact_ms,
            },
        })
    }

    /// Reads the certificates of every TLS listener again (SIGHUP).
    pub fn reload_certificates(&self) -> Result<usize, sluice_dataplane::TlsErrors> {
        self.data_plane.reload_certificates()
    }

    /// Every metric, Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let state = self.state();
        let mut out = String::with_capacity(16 * 1024);
        self.data_plane.render_metrics(&mut out);
        let status = Status {
            live_revision: state.applied_revision,
            applied_ms: state.applied_ms,
            ..Status::default()
        };
        render_config_metrics(
            &mut out,
            &status,
            self.applies.load(Ordering::Relaxed),
            self.refusals.load(Ordering::Relaxed),
        );
        out.push_str(&format!(
            "# HELP sluice_control_plane_reachable Whether the last poll of the control plane got an answer.\n# TYPE sluice_control_plane_reachable gauge\nsluice_control_plane_reachable {}\n",
            u8::from(state.reachable)
        ));
        out
    }

    /// Serves `/healthz`, `/readyz`, `/metrics` and `/v1/status` on `listen`.
    pub async fn serve_admin(
        self: &Arc<Self>,
        listen: std::net::SocketAddr,
    ) -> std::io::Result<Admin> {
        let follower = self.clone();
        admin::serve(listen, "data plane admin", move |request, open_reads| {
            let follower = follower.clone();
            async move { follower.handle(&request, open_reads).await }
        })
        .await
    }

    async fn handle(&self, request: &Request<Incoming>, open_reads: bool) -> Answer {
        let path = request.uri().path();
        if request.method() != Method::GET {
            return admin::problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "a data plane's admin listener is read-only; change the configuration on the control plane",
            );
        }
        let probe = matches!(path, "/healthz" | "/readyz");
        if !probe && !open_reads && !admin::authorized(self.config.token.as_ref(), request) {
            return admin::unauthorized();
        }
        match path {
            "/healthz" => admin::json_answer(StatusCode::OK, &json!({ "status": "ok" })),
            "/readyz" => match self.data_plane.kafka_ready().await {
                Ok(()) => admin::json_answer(
                    StatusCode::OK,
                    &json!({ "status": "ready", "revision": self.applied_revision() }),
                ),
                Err(reason) => admin::problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    &reason.to_string(),
                ),
            },
            "/metrics" => admin::metrics_answer(self.render_metrics()),
            "/v1/status" => admin::json_answer(StatusCode::OK, &self.status()),
            _ => admin::problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no route for GET {path} on a data plane's admin listener"),
            ),
        }
    }

    /// Stops accepting, gives requests in flight up to `grace`, then stops.
    pub async fn shutdown(&self, grace: Duration) {
        self.data_plane.shutdown(grace).await;
    }
}

fn compile(received: &Received, options: &CompileOptions) -> Result<RouteTable, RevisionError> {
    // Without the admin token the control plane sends secrets as '***'.
    let redacted: Vec<String> = sluice_shared::secrets::secret_pointers(&received.config)
        .into_iter()
        .filter(|p| {
            received.config.pointer(p).and_then(Value::as_str)
                == Some(sluice_shared::secrets::REDACTED)
        })
        .collect();
    if !redacted.is_empty() {
        return Err(RevisionError::Redacted(redacted.join(", ")));
    }
    let text = received.config.to_string();
    let (_, table) = sluice_shared::load_config(&text, options).map_err(RevisionError::Invalid)?;
    if let Some(cluster) = table.clusters.iter().find(|c| c.servers.is_empty()) {
        return Err(RevisionError::NoServers(cluster.binding.clone()));
    }
    Ok(table)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A control plane URL Sluice can follow: `http://host:port`.
fn check_url(url: &Uri) -> Result<(), FollowError> {
    match url.scheme_str() {
        Some("http") if url.authority().is_some() => Ok(()),
        Some("https") => Err(FollowError::ControlPlane(
            "https needs TLS, which this build does not have yet; use http:// on a private network"
                .to_owned(),
        )),
        _ => Err(FollowError::ControlPlane(format!(
            "'{url}' is not an http://host:port URL"
        ))),
    }
}

/// The last good revision kept locally, compiled, if there is one that compiles here.
fn local_start(config: &FollowConfig, options: &CompileOptions) -> Option<(u64, RouteTable)> {
    let local = read_last_good(&config.data_dir)?;
    match compile(&local, options) {
        Ok(table) => {
            info!(
                revision = local.number,
                "serving the last good revision kept locally"
            );
            Some((local.number, table))
        }
        Err(reason) => {
            error!(
                revision = local.number,
                reason = %reason,
                "the locally kept revision does not compile here; waiting for the control plane"
            );
            None
        }
    }
}

/// The control plane's head, once it answers with one that compiles here: asked again
/// with backoff while it is unreachable, however long that takes.
async fn first_revision(
    client: &Client<HttpConnector, Empty<Bytes>>,
    config: &FollowConfig,
    state: &mut FollowState,
    options: &CompileOptions,
) -> (Received, RouteTable) {
    let mut pause = BACKOFF.0;
    loop {
        match poll(client, config, state, false).await {
            Ok(Some(received)) => match compile(&received, options) {
                Ok(table) => return (received, table),
                Err(reason) => {
                    error!(
                        revision = received.number,
                        reason = %reason,
                        "the control plane's revision does not compile here; waiting for the next one"
                    );
                    state.seen = Some(received.number);
                    state.last_error = Some(reason.to_string());
                }
            },
            Ok(None) => {}
            Err(reason) => {
                warn!(control_plane = %config.control_plane, reason = %reason, "no configuration yet: the control plane is unreachable and none is kept locally; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(BACKOFF.1);
            }
        }
    }
}
