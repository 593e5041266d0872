//! The follower: start from the local last good revision or the control plane's head, then
//! follow the control plane; its own admin listener.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use sluice_dataplane::{ApplyError, DataPlane, FileAcceptor};
use sluice_shared::CompileOptions;
use sluice_shared::sync::lock;
use tracing::{error, info, warn};

use super::client::{ClientError, PollClient, build};
use super::local::write_last_good;
use super::poll::{Received, poll};
use super::revision::{BACKOFF, RevisionError, compile, first_revision, local_start};
use super::state::{FollowConfig, FollowState};
use crate::admin::{self, Admin, Answer};
use crate::app::{Status, render_config_metrics};

/// A running data plane that follows a control plane.
pub struct Follower {
    config: FollowConfig,
    compile_options: CompileOptions,
    data_plane: DataPlane,
    state: std::sync::Mutex<FollowState>,
    client: ArcSwap<PollClient>,
    applies: AtomicU64,
    refusals: AtomicU64,
}

/// Why the follower could not start.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The control plane URL or its TLS files are not usable.
    #[error(transparent)]
    ControlPlane(#[from] ClientError),
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

impl Follower {
    /// Starts serving the local last good revision, or the control plane's head when there
    /// is none (waiting for the control plane as long as it takes).
    pub async fn start(config: FollowConfig) -> Result<Arc<Self>, FollowError> {
        let client = build(&config.control_plane, &config.tls)?;
        std::fs::create_dir_all(&config.data_dir).map_err(|error| FollowError::DataDir {
            path: config.data_dir.clone(),
            error,
        })?;
        let compile_options = CompileOptions {
            kafka_servers: config.kafka.clone(),
            fallback_servers: None,
            base_dir: None,
        };
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
            client: ArcSwap::from_pointee(client),
            applies: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        }))
    }

    /// Follows the control plane until the task is dropped.
    pub async fn follow(self: Arc<Self>) {
        let mut pause = BACKOFF.0;
        loop {
            let state = self.state();
            self.config.refresh_token();
            let client = self.client.load_full();
            match poll(&client, &self.config, &state, true).await {
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

    /// Builds the client to the control plane again from its files (SIGHUP): new
    /// connections use them; on a failure the client stays as it was.
    pub fn reload_client(&self) -> Result<(), ClientError> {
        let client = build(&self.config.control_plane, &self.config.tls)?;
        self.client.store(Arc::new(client));
        Ok(())
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
        tls: Option<Arc<FileAcceptor>>,
    ) -> std::io::Result<Admin> {
        let follower = self.clone();
        let served = tls.clone();
        admin::serve(
            listen,
            tls,
            "data plane admin",
            move |request, open_reads| {
                let (follower, tls) = (follower.clone(), served.clone());
                async move { follower.handle(&request, open_reads, tls.as_deref()).await }
            },
        )
        .await
    }

    async fn handle(
        &self,
        request: &Request<Incoming>,
        open_reads: bool,
        tls: Option<&FileAcceptor>,
    ) -> Answer {
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
            "/metrics" => {
                let mut text = self.render_metrics();
                admin::admin_tls_metrics(&mut text, tls);
                admin::metrics_answer(text)
            }
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

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
