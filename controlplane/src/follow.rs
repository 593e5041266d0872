//! `sluice dataplane`: a data plane alone, following a control plane's revisions.
//!
//! - At start it serves the last good revision kept in its data directory
//!   (`last-good.json`), so it starts and serves while the control plane is down. Without a
//!   local copy it waits for the control plane.
//! - It then long-polls `GET <control plane>/v1/config` with `If-None-Match: "<revision>"`
//!   and `prefer: wait=60`. A new revision is compiled and applied (the same swap as
//!   `sluice serve`), then written to `last-good.json` (written to a temporary file, synced,
//!   renamed). A revision that does not compile or apply here is reported and skipped: the
//!   data plane keeps serving what it has and waits for the next one.
//! - Each poll tells the control plane the data plane's id, its applied revision and its
//!   last apply error; `GET /v1/status` of the control plane lists them.
//! - While the control plane is unreachable it retries with a backoff of 0.5 s doubling to
//!   5 s, and says so once in the log.
//! - Its own admin listener answers `/healthz`, `/readyz`, `/metrics` and `/v1/status`.

use sluice_shared::sync::lock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sluice_dataplane::{DataPlane, DataPlaneOptions};
use sluice_shared::{CompileOptions, RouteTable};
use tracing::{error, info, warn};

use crate::admin::{self, Admin, Answer, Token};
use crate::app::{Status, render_config_metrics};

/// Seconds a poll asks the control plane to wait for a new revision.
const POLL_WAIT_SECONDS: u64 = 60;
/// Extra time given to a poll's answer beyond its wait.
const POLL_SLACK: Duration = Duration::from_secs(15);
/// First and longest pause between failed polls.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(5));
/// The file holding the last good revision.
const LAST_GOOD: &str = "last-good.json";

/// How a data plane follows its control plane.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The control plane's admin API, `http://host:port`.
    pub control_plane: Uri,
    /// The admin token, sent as a bearer token.
    pub token: Option<Token>,
    /// This data plane's name in the control plane's status.
    pub id: String,
    /// Where the last good revision is kept.
    pub data_dir: PathBuf,
    /// Kafka bootstrap servers overriding the configuration's.
    pub kafka: Option<Vec<String>>,
    /// Listener settings.
    pub data_plane: DataPlaneOptions,
}

/// What the data plane reports about itself.
#[derive(Debug, Clone, Default)]
struct FollowState {
    applied_revision: Option<u64>,
    applied_ms: Option<u64>,
    /// The last revision received, applied or not: the next poll waits for a newer one.
    seen: Option<u64>,
    last_error: Option<String>,
    reachable: bool,
    last_contact_ms: Option<u64>,
}

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

/// A revision as the control plane sends it.
struct Received {
    number: u64,
    config: Value,
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
    #[error("{0}")]
    Start(String),
}

impl Follower {
    /// Starts serving the local last good revision, or the control plane's head when there
    /// is none (waiting for the control plane as long as it takes).
    pub async fn start(config: FollowConfig) -> Result<Arc<Self>, FollowError> {
        match config.control_plane.scheme_str() {
            Some("http") if config.control_plane.authority().is_some() => {}
            Some("https") => {
                return Err(FollowError::ControlPlane(
                    "https needs TLS, which this build does not have yet; use http:// on a private network".to_owned(),
                ));
            }
            _ => {
                return Err(FollowError::ControlPlane(format!(
                    "'{}' is not an http://host:port URL",
                    config.control_plane
                )));
            }
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|error| FollowError::DataDir {
            path: config.data_dir.clone(),
            error,
        })?;
        let compile_options = CompileOptions {
            kafka_servers: config.kafka.clone(),
            fallback_servers: None,
        };
        let client = Client::builder(TokioExecutor::new()).build_http();
        let mut state = FollowState::default();
        let first = match read_last_good(&config.data_dir) {
            Some(local) => match compile(&local, &compile_options) {
                Ok(table) => {
                    info!(
                        revision = local.number,
                        "serving the last good revision kept locally"
                    );
                    Some((local.number, table, None))
                }
                Err(reason) => {
                    error!(
                        revision = local.number,
                        reason,
                        "the locally kept revision does not compile here; waiting for the control plane"
                    );
                    None
                }
            },
            None => None,
        };
        let (number, table, fetched) = match first {
            Some(first) => first,
            None => {
                let mut pause = BACKOFF.0;
                loop {
                    match poll(&client, &config, &state, false).await {
                        Ok(Some(received)) => match compile(&received, &compile_options) {
                            Ok(table) => break (received.number, table, Some(received)),
                            Err(reason) => {
                                error!(
                                    revision = received.number,
                                    reason,
                                    "the control plane's revision does not compile here; waiting for the next one"
                                );
                                state.seen = Some(received.number);
                                state.last_error = Some(reason);
                            }
                        },
                        Ok(None) => {}
                        Err(reason) => {
                            warn!(control_plane = %config.control_plane, reason, "no configuration yet: the control plane is unreachable and none is kept locally; retrying");
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(BACKOFF.1);
                        }
                    }
                }
            }
        };
        let data_plane = DataPlane::start(table, config.data_plane.clone())
            .await
            .map_err(FollowError::Start)?;
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
                        warn!(control_plane = %self.config.control_plane, reason, revision = ?state.applied_revision, "control plane unreachable; serving the revision applied last");
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
            Ok(table) => self.data_plane.apply(table).await,
            Err(reason) => Err(reason),
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
                    reason, "revision not applied here; the previous one stays active"
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
    pub fn reload_certificates(&self) -> Result<usize, String> {
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

/// Asks the control plane for its head. With `wait`, the request names the last revision
/// seen and waits for a newer one; `Ok(None)` means nothing new.
async fn poll(
    client: &Client<HttpConnector, Empty<Bytes>>,
    config: &FollowConfig,
    state: &FollowState,
    wait: bool,
) -> Result<Option<Received>, String> {
    let base = config.control_plane.to_string();
    // Secrets come only with the admin token.
    let query = if config.token.is_some() {
        "?secrets=true"
    } else {
        ""
    };
    let uri: Uri = format!("{}/v1/config{query}", base.trim_end_matches('/'))
        .parse()
        .map_err(|e| format!("bad control plane URL: {e}"))?;
    let mut request = Request::get(uri)
        .header(header::ACCEPT, "application/json")
        .header("sluice-data-plane", &config.id);
    if let Some(token) = &config.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {}", token.reveal()));
    }
    if let Some(applied) = state.applied_revision {
        request = request.header("sluice-applied-revision", applied.to_string());
    }
    if let Some(error) = &state.last_error {
        request = request.header("sluice-apply-error", header_text(error));
    }
    if wait && let Some(seen) = state.seen {
        request = request
            .header(header::IF_NONE_MATCH, format!("\"{seen}\""))
            .header("prefer", format!("wait={POLL_WAIT_SECONDS}"));
    }
    let request = request
        .body(Empty::new())
        .map_err(|e| format!("cannot build the poll: {e}"))?;
    let timeout = Duration::from_secs(if wait { POLL_WAIT_SECONDS } else { 0 }) + POLL_SLACK;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
        .map_err(|e| format!("{e}"))?;
    let status = response.status();
    match status {
        StatusCode::NOT_MODIFIED => return Ok(None),
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => {
            return Err(
                "the control plane refused the admin token (set SLUICE_ADMIN_TOKEN)".to_owned(),
            );
        }
        StatusCode::NOT_FOUND => return Err("the control plane has no configuration".to_owned()),
        other => return Err(format!("the control plane answered {other}")),
    }
    let number = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim_start_matches("W/")
                .trim_matches('"')
                .parse::<u64>()
                .ok()
        })
        .ok_or("the control plane's answer has no revision ETag")?;
    let body = Limited::new(
        response.into_body(),
        sluice_shared::spec::MAX_DOCUMENT_BYTES,
    )
    .collect()
    .await
    .map_err(|e| format!("reading the configuration: {e}"))?
    .to_bytes();
    let config: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("the control plane's configuration is not JSON: {e}"))?;
    Ok(Some(Received { number, config }))
}

/// A header value: visible ASCII only, at most 500 characters.
fn header_text(text: &str) -> String {
    text.chars()
        .take(500)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn compile(received: &Received, options: &CompileOptions) -> Result<RouteTable, String> {
    // Without the admin token the control plane sends secrets as '***'.
    let redacted: Vec<String> = sluice_shared::secrets::secret_pointers(&received.config)
        .into_iter()
        .filter(|p| {
            received.config.pointer(p).and_then(Value::as_str)
                == Some(sluice_shared::secrets::REDACTED)
        })
        .collect();
    if !redacted.is_empty() {
        return Err(format!(
            "the control plane sent {} redacted; give this data plane the admin token (--admin-token-file or SLUICE_ADMIN_TOKEN) so that it receives the secrets",
            redacted.join(", ")
        ));
    }
    let text = received.config.to_string();
    let table = sluice_shared::parse_config(&text)
        .and_then(|spec| RouteTable::compile(&spec, options))
        .map_err(|errors| errors.to_string())?;
    if let Some(cluster) = table.clusters.iter().find(|c| c.servers.is_empty()) {
        return Err(format!(
            "kafka binding '{}' names no servers; give this data plane --kafka",
            cluster.binding
        ));
    }
    Ok(table)
}

fn read_last_good(dir: &Path) -> Option<Received> {
    let path = dir.join(LAST_GOOD);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            error!(path = %path.display(), error = %error, "cannot read the locally kept revision");
            return None;
        }
    };
    let parsed: Option<(u64, Value)> = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|doc| Some((doc.get("revision")?.as_u64()?, doc.get("config")?.clone())));
    match parsed {
        Some((number, config)) => Some(Received { number, config }),
        None => {
            error!(path = %path.display(), "the locally kept revision is damaged; ignoring it");
            None
        }
    }
}

/// Keeps `received` as the last good revision: written aside, flushed, renamed, on the
/// blocking pool (the fsyncs must not stall the runtime's threads).
async fn write_last_good(dir: &Path, received: &Received) -> std::io::Result<()> {
    let document = json!({ "revision": received.number, "config": received.config }).to_string();
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let temporary = dir.join(format!("{LAST_GOOD}.tmp"));
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(document.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, dir.join(LAST_GOOD))?;
        std::fs::File::open(&dir)?.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_last_good_revision_survives_a_round_trip_and_damage_is_ignored() {
        let dir = std::env::temp_dir().join(format!("sluice-follow-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        assert!(read_last_good(&dir).is_none());
        let received = Received {
            number: 7,
            config: json!({ "name": "x", "bindings": {} }),
        };
        write_last_good(&dir, &received).await.expect("written");
        let back = read_last_good(&dir).expect("read back");
        assert_eq!(back.number, 7);
        assert_eq!(back.config, received.config);
        std::fs::write(dir.join(LAST_GOOD), "{\"revision\": 7, \"conf").expect("damaged");
        assert!(read_last_good(&dir).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn header_text_is_visible_ascii_and_bounded() {
        assert_eq!(header_text("port\n8080 in use: é"), "port?8080 in use: ?");
        assert_eq!(header_text(&"x".repeat(900)).len(), 500);
    }
}
