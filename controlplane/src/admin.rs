//! The admin API on the admin listener: the configuration, its bindings and guards,
//! revisions, rollback, status, health and the OpenAPI document.
//!
//! - `GET /healthz`: 200 while the process serves. `GET /readyz`: 200 once a configuration
//!   is applied and every Kafka cluster it uses answers (503 with the reason otherwise).
//! - `GET /v1/config`: the live head, JSON or YAML (`accept: application/yaml`), with
//!   `ETag: "<revision>"`.
//! - `PUT /v1/config`: a whole new configuration (JSON, or YAML with
//!   `content-type: application/yaml`). `If-Match: "<revision>"` makes it conditional
//!   (mismatch: 412); `?dry_run=true` validates and returns the differences without
//!   applying. Invalid: 422 with every error and its JSON pointer. Applied: 200 with the
//!   revision; unchanged: 200 with `"unchanged": true` and no new revision.
//! - `GET /v1/revisions`, `GET /v1/revisions/{n}`, `POST /v1/revisions/{n}/rollback` (a new
//!   revision equal to revision n).
//! - `GET /v1/config` with `If-None-Match: "<revision>"`: 304 while that is the head; with
//!   `prefer: wait=N` (N ≤ 300) it waits for the next applied revision first. Separate data
//!   planes follow this way and report themselves in request headers.
//! - `GET /v1/status`: live revision, when applied, last refused change, data planes.
//! - `GET|PUT|DELETE /v1/bindings/{name}`, `GET /v1/bindings`, and the same for guards: one
//!   resource of the head, with its own ETag; a change is applied as a whole configuration.
//! - `GET /openapi.json`: the OpenAPI document (`crate::openapi`).
//! - `GET /metrics`: Prometheus text format (data plane and configuration series).
//! - `GET /ui/`: the web UI (`crate::ui`), public assets that call this API.
//!
//! Mutations need `authorization: Bearer <admin token>`. Reads are open when the admin
//! listener is on a loopback address, and need the token otherwise. Bodies are capped at
//! the configuration document limit.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::app::{App, ChangeError, ChangeOutcome, ConfigChange};
use sluice_shared::wire::etag::IfNoneMatch;
use sluice_shared::wire::prefer::Prefer;

use crate::store::{ConfigStore, Revision};

/// Every route of the admin API (method, path template). The OpenAPI document lists the
/// same (a test checks both ways), and `tests/tests/admin.rs` checks that each is routed.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/v1/status"),
    ("GET", "/v1/config"),
    ("PUT", "/v1/config"),
    ("GET", "/v1/revisions"),
    ("GET", "/v1/revisions/{number}"),
    ("POST", "/v1/revisions/{number}/rollback"),
    ("GET", "/v1/bindings"),
    ("GET", "/v1/bindings/{name}"),
    ("PUT", "/v1/bindings/{name}"),
    ("DELETE", "/v1/bindings/{name}"),
    ("GET", "/v1/guards"),
    ("GET", "/v1/guards/{name}"),
    ("PUT", "/v1/guards/{name}"),
    ("DELETE", "/v1/guards/{name}"),
    ("GET", "/ui/"),
    ("GET", "/ui/{file}"),
];

/// The admin token, compared in constant time.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// A token from its text.
    pub fn new(text: &str) -> Self {
        Self(Arc::from(text))
    }

    /// The token's text, to show it once when it was just made.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    fn matches(&self, offered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), offered.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.write_str("Token(..)")
    }
}

/// A running admin listener.
pub struct Admin {
    /// Where it listens.
    pub local: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Admin {
    /// Stops accepting and closes admin connections, so that the app can shut down.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Binds the admin listener and serves it until [`Admin::stop`].
pub async fn start(app: Arc<App>, listen: SocketAddr, token: Token) -> std::io::Result<Admin> {
    serve(listen, "admin API", move |request, open_reads| {
        let (app, token) = (app.clone(), token.clone());
        async move { handle(&app, &token, open_reads, request).await }
    })
    .await
}

/// Binds `listen` and answers every request with `handler`, told whether reads are open
/// (the listener is on loopback), until [`Admin::stop`].
pub(crate) async fn serve<H, F>(
    listen: SocketAddr,
    what: &'static str,
    handler: H,
) -> std::io::Result<Admin>
where
    H: Fn(Request<Incoming>, bool) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let listener = TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    let open_reads = local.ip().is_loopback();
    info!(%local, open_reads, "{what} listening");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut stopping = stopped.clone();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopping.changed() => return,
            };
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            let handler = handler.clone();
            let mut stopping = stopped.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let answer = handler(request, open_reads);
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    served = connection => {
                        if let Err(error) = served {
                            debug!(%peer, error = %error, "admin connection ended with an error");
                        }
                    }
                    _ = stopping.changed() => {}
                }
            });
        }
    });
    Ok(Admin { local, stop })
}

/// Whether `request` carries `authorization: Bearer <token>`.
pub(crate) fn authorized(token: Option<&Token>, request: &Request<Incoming>) -> bool {
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    matches!((token, offered), (Some(token), Some(offered)) if token.matches(offered.trim()))
}

/// 401 with the admin realm.
pub(crate) fn unauthorized() -> Answer {
    let mut answer = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this needs 'authorization: Bearer <admin token>'",
    );
    answer.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="sluice-admin""#),
    );
    answer
}

/// `/metrics` as Prometheus expects it.
pub(crate) fn metrics_answer(text: String) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(text)));
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    answer
}

pub(crate) type Answer = Response<Full<Bytes>>;

pub(crate) fn json_answer(status: StatusCode, body: &Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn problem(status: StatusCode, code: &str, message: &str) -> Answer {
    json_answer(status, &json!({ "code": code, "message": message }))
}

fn wants_yaml(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("yaml"))
}

fn etag(number: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{number}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

async fn handle(app: &App, token: &Token, open_reads: bool, request: Request<Incoming>) -> Answer {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let read = method == Method::GET || method == Method::HEAD;
    // A method the path does not take is answered 405 before any token check.
    if let Some(allow) = known_path(&segments)
        && !allow
            .split(", ")
            .any(|m| m == method.as_str() || (m == "GET" && method == Method::HEAD))
    {
        return method_not_allowed(allow);
    }
    let authorized = authorized(Some(token), &request);
    if !authorized
        && (!read || !open_reads)
        && !matches!(segments.as_slice(), ["healthz"] | ["readyz"] | ["ui", ..])
    {
        return unauthorized();
    }
    // One rule for every endpoint: a boolean query parameter is true or false.
    if let Err(answer) = check_flags(&request, &["dry_run", "secrets"]) {
        return *answer;
    }
    // Secrets are never an open read.
    if !authorized && with_secrets(&request) {
        return unauthorized();
    }
    let store = app.store();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["healthz"]) => json_answer(StatusCode::OK, &json!({ "status": "ok" })),
        (Method::GET, ["readyz"]) => {
            let revision = app.status().live_revision;
            if revision.is_none() && store.is_some() {
                return problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    "no configuration applied yet",
                );
            }
            match app.kafka_ready().await {
                Ok(()) => json_answer(
                    StatusCode::OK,
                    &json!({ "status": "ready", "revision": revision }),
                ),
                Err(reason) => problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    &reason.to_string(),
                ),
            }
        }
        (Method::GET, ["openapi.json"]) => {
            let mut answer = Response::new(Full::new(Bytes::from(crate::openapi::document())));
            answer.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            answer
        }
        (Method::GET, ["metrics"]) => metrics_answer(app.render_metrics()),
        (Method::GET, ["ui"]) if !path.ends_with('/') => crate::ui::redirect(),
        (Method::GET, ["ui"]) => crate::ui::asset(""),
        (Method::GET, ["ui", file]) => crate::ui::asset(file),
        (Method::GET, ["v1", "status"]) => json_answer(StatusCode::OK, &json!(app.status())),
        (Method::GET, ["v1", "config"]) => get_config(app, &request).await,
        (Method::PUT, ["v1", "config"]) => put_config(app, request).await,
        (Method::GET, ["v1", "revisions"]) => match store.map(|s| s.list(100)) {
            Some(Ok(list)) => {
                let items: Vec<Value> = list
                    .iter()
                    .map(|r| {
                        json!({ "number": r.number, "parent": r.parent, "author": r.author,
                                "message": r.message, "created_ms": r.created_ms, "checksum": r.checksum })
                    })
                    .collect();
                json_answer(StatusCode::OK, &json!({ "revisions": items }))
            }
            Some(Err(error)) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store",
                &error.to_string(),
            ),
            None => problem(StatusCode::NOT_FOUND, "not_found", "no configuration store"),
        },
        (Method::GET, ["v1", "revisions", number]) => match (number.parse::<u64>(), store) {
            (Ok(number), Some(store)) => match store.get(number) {
                Ok(Some(revision)) => revision_answer(&revision, wants_yaml(&request), false),
                Ok(None) => problem(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such revision (or no longer kept)",
                ),
                Err(error) => problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store",
                    &error.to_string(),
                ),
            },
            _ => problem(StatusCode::NOT_FOUND, "not_found", "no such revision"),
        },
        (Method::POST, ["v1", "revisions", number, "rollback"]) => {
            rollback(app, number, &request).await
        }
        (Method::GET, ["v1", kind @ ("bindings" | "guards")]) => list_resources(app, kind),
        (Method::GET, ["v1", kind @ ("bindings" | "guards"), name]) => {
            get_resource(app, kind, name, wants_yaml(&request))
        }
        (Method::PUT | Method::DELETE, ["v1", kind @ ("bindings" | "guards"), name]) => {
            let (kind, name) = ((*kind).to_owned(), (*name).to_owned());
            change_resource(app, &kind, &name, request).await
        }
        (_, segments) if known_path(segments).is_some() => {
            method_not_allowed(known_path(segments).unwrap_or("GET"))
        }
        _ => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no admin route for {method} {path}"),
        ),
    }
}

/// Longest `prefer: wait=N` on `GET /v1/config`, seconds.
const MAX_CONFIG_WAIT_SECONDS: u64 = 300;
/// Longest data-plane id.
const MAX_DATA_PLANE_ID: usize = 64;

/// `GET /v1/config`: the head. With `If-None-Match` naming the head: 304, or with
/// `prefer: wait=N` the answer waits up to N seconds for the next applied revision. This
/// is how separate data planes follow (`crate::follow`); they say who they are and what
/// they run in `sluice-data-plane`, `sluice-applied-revision` and `sluice-apply-error`.
async fn get_config(app: &App, request: &Request<Incoming>) -> Answer {
    let Some(store) = app.store() else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no configuration stored",
        );
    };
    if let Err(answer) = record_follower(app, request) {
        return *answer;
    }
    let headers = request.headers();
    let not_if = match IfNoneMatch::parse(headers) {
        // Revisions are numbers: another tag can never match, and is a mistake.
        Ok(Some(IfNoneMatch::Tags(tags)))
            if !tags
                .iter()
                .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "if-none-match must name revisions, such as \"3\"",
            );
        }
        Ok(condition) => condition,
        Err(message) => return problem(StatusCode::BAD_REQUEST, "bad_request", &message),
    };
    let wait = match Prefer::parse(headers).and_then(|prefer| {
        prefer.check_wait(MAX_CONFIG_WAIT_SECONDS)?;
        Ok(prefer.wait)
    }) {
        Ok(wait) => wait.unwrap_or(0),
        Err(message) => return problem(StatusCode::BAD_REQUEST, "bad_request", &message),
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    let mut live = app.live_revisions();
    loop {
        live.borrow_and_update();
        let head = match store.head() {
            Ok(Some(head)) => head,
            Ok(None) => {
                return problem(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no configuration stored",
                );
            }
            Err(error) => {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store",
                    &error.to_string(),
                );
            }
        };
        let unchanged = not_if
            .as_ref()
            .is_some_and(|condition| condition.matches(&head.number.to_string()));
        if !unchanged {
            return revision_answer(&head, wants_yaml(request), with_secrets(request));
        }
        let woken = tokio::time::timeout_at(deadline, live.changed()).await;
        if !matches!(woken, Ok(Ok(()))) {
            let mut answer = Response::new(Full::new(Bytes::new()));
            *answer.status_mut() = StatusCode::NOT_MODIFIED;
            answer.headers_mut().insert(header::ETAG, etag(head.number));
            return answer;
        }
    }
}

/// `?secrets=true`: the configuration with its secrets, for data planes that connect to
/// Kafka with them. Everything else the admin API returns shows secrets as `***`.
fn with_secrets(request: &Request<Incoming>) -> bool {
    flag(request, "secrets").unwrap_or(false)
}

/// The boolean query parameter `name`: absent or `false` is false; `true` (or the bare
/// name) is true; anything else is an error, the same on every endpoint.
fn flag(request: &Request<Incoming>, name: &str) -> Result<bool, String> {
    let mut value = false;
    for pair in request.uri().query().unwrap_or_default().split('&') {
        let (key, given) = pair.split_once('=').unwrap_or((pair, "true"));
        if key != name {
            continue;
        }
        value = match given {
            "true" => true,
            "false" => false,
            other => {
                return Err(format!(
                    "query parameter '{name}' must be true or false, not '{other}'"
                ));
            }
        };
    }
    Ok(value)
}

/// Checks the boolean query parameters `names` of `request`: 400 for a bad value.
fn check_flags(request: &Request<Incoming>, names: &[&str]) -> Result<(), Box<Answer>> {
    for name in names {
        flag(request, name).map_err(|message| {
            Box::new(problem(StatusCode::BAD_REQUEST, "bad_request", &message))
        })?;
    }
    Ok(())
}

/// Records a following data plane's report, when the request carries one.
fn record_follower(app: &App, request: &Request<Incoming>) -> Result<(), Box<Answer>> {
    let headers = request.headers();
    let bad = |message: &str| Box::new(problem(StatusCode::BAD_REQUEST, "bad_request", message));
    let applied = match headers.get("sluice-applied-revision") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| bad("sluice-applied-revision must be a revision number"))?,
        ),
    };
    let Some(id) = headers.get("sluice-data-plane") else {
        return Ok(());
    };
    let id = id
        .to_str()
        .ok()
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_DATA_PLANE_ID
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .ok_or_else(|| bad("sluice-data-plane must be 1 to 64 letters, digits, '.', '_' or '-'"))?;
    let error = headers.get("sluice-apply-error").map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(500)
            .collect()
    });
    app.report_data_plane(id.to_owned(), applied, error);
    Ok(())
}

/// The methods a known path answers (`Allow`), or `None` for a path the API does not have.
fn known_path(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["v1", "bindings" | "guards", _] => "GET, PUT, DELETE",
        ["v1", "config"] => "GET, PUT",
        ["v1", "revisions", _, "rollback"] => "POST",
        ["v1", "bindings" | "guards" | "status" | "revisions"]
        | ["v1", "revisions", _]
        | ["healthz" | "readyz" | "metrics" | "openapi.json"]
        | ["ui", ..] => "GET",
        _ => return None,
    })
}

/// A field of a resource's shape: name, required, and the test of its JSON type.
type ShapeField = (&'static str, bool, fn(&Value) -> bool);

/// Checks a binding's or guard's shape as the OpenAPI document describes it (an object
/// with its required fields, of their types, and no other field), so that a request the
/// schema refuses is a 400 before any precondition is looked at.
fn check_shape(kind: &str, resource: &Value) -> Result<(), String> {
    let Some(object) = resource.as_object() else {
        return Err(format!("a {} is a JSON object", singular(kind)));
    };
    let fields: &[ShapeField] = if kind == "bindings" {
        &[
            ("type", true, Value::is_string),
            ("kind", true, Value::is_string),
            ("options", false, |v| v.is_object() || v.is_null()),
            ("routes", false, |v| {
                v.is_null()
                    || v.as_array()
                        .is_some_and(|routes| routes.iter().all(Value::is_object))
            }),
            ("exit", false, |v| v.is_string() || v.is_null()),
        ]
    } else {
        &[
            ("type", true, Value::is_string),
            ("options", true, Value::is_object),
        ]
    };
    for (name, required, valid) in fields {
        match object.get(*name) {
            None if *required => return Err(format!("missing field '{name}'")),
            Some(value) if !valid(value) => {
                return Err(format!("field '{name}' has the wrong type"));
            }
            _ => {}
        }
    }
    match object
        .keys()
        .find(|key| !fields.iter().any(|(name, ..)| name == key))
    {
        Some(unknown) => Err(format!("unknown field '{unknown}'")),
        None => Ok(()),
    }
}

fn method_not_allowed(allow: &'static str) -> Answer {
    let mut answer = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed here",
    );
    answer
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    answer
}

/// A revision's configuration; secrets shown as `***` unless `secrets` (data planes).
fn revision_answer(revision: &Revision, yaml: bool, secrets: bool) -> Answer {
    let shown = if secrets {
        revision.config.clone()
    } else {
        sluice_shared::secrets::redacted(&revision.config)
    };
    let mut answer = if yaml {
        let text = serde_yaml::to_string(&shown).unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(text)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        );
        response
    } else {
        json_answer(StatusCode::OK, &shown)
    };
    answer
        .headers_mut()
        .insert(header::ETAG, etag(revision.number));
    answer
}

/// `If-Match: "<n>"` (or `*`, which matches any head).
fn if_match(request: &Request<Incoming>) -> Result<Option<Option<u64>>, Box<Answer>> {
    match entity_tag(request)? {
        None | Some(EntityTag::Any) => Ok(None),
        Some(EntityTag::Tag(tag)) => tag.parse::<u64>().map(|n| Some(Some(n))).map_err(|_| {
            Box::new(problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "If-Match must be * or a revision ETag such as \"3\"",
            ))
        }),
    }
}

/// An `If-Match` value.
enum EntityTag {
    /// `*`.
    Any,
    /// One entity tag, without quotes and weakness prefix.
    Tag(String),
}

/// The request's `If-Match`: `*` or one entity tag (`"x"`, `W/"x"`; a bare revision number
/// is taken too). The same rule on every endpoint: an empty or malformed value is a 400,
/// never an unconditional write.
fn entity_tag(request: &Request<Incoming>) -> Result<Option<EntityTag>, Box<Answer>> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        Box::new(problem(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "If-Match must be * or one entity tag such as \"3\"",
        ))
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(Some(EntityTag::Any));
    }
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let inner = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner,
        None if !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit()) => tag,
        None => return Err(bad()),
    };
    if inner.is_empty() || inner.contains('"') || inner.bytes().any(|b| b < 0x21 || b == 0x7f) {
        return Err(bad());
    }
    Ok(Some(EntityTag::Tag(inner.to_owned())))
}

fn author(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-sluice-author")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "admin".to_owned(), |v| v.chars().take(200).collect())
}

fn message(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get("x-sluice-message")
        .and_then(|v| v.to_str().ok())
        .map_or_else(String::new, |v| v.chars().take(1000).collect())
}

async fn put_config(app: &App, request: Request<Incoming>) -> Answer {
    let expected = match if_match(&request) {
        Ok(expected) => expected,
        Err(answer) => return *answer,
    };
    let dry_run = dry_run(&request);
    let (author, message) = (author(&request), message(&request));
    let config = match read_document(request).await {
        Ok(config) => config,
        Err(answer) => return *answer,
    };
    let change = ConfigChange {
        config,
        author,
        message,
        expected,
        dry_run,
        action: "PUT /v1/config".to_owned(),
    };
    outcome(app.change(change).await)
}

/// `?dry_run=true` (or `?dry_run`): validate and diff only.
fn dry_run(request: &Request<Incoming>) -> bool {
    flag(request, "dry_run").unwrap_or(false)
}

/// The request's body as a document: JSON, or YAML with `content-type: application/yaml`,
/// at most the configuration size limit.
async fn read_document(request: Request<Incoming>) -> Result<Value, Box<Answer>> {
    let yaml = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("yaml"));
    let limit = sluice_shared::spec::MAX_DOCUMENT_BYTES;
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Err(Box::new(problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("a configuration document is at most {limit} bytes"),
            )));
        }
    };
    parse_body(&body, yaml)
        .map_err(|message| Box::new(problem(StatusCode::BAD_REQUEST, "bad_request", &message)))
}

fn parse_body(body: &[u8], yaml: bool) -> Result<Value, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    if yaml {
        serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))
    } else {
        serde_json::from_str(text)
            .map_err(|e| format!("not JSON: {e} (send content-type: application/yaml for YAML)"))
    }
}

/// `{"revision": n, "unchanged": ...}` with the revision's ETag.
fn changed(revision: &Revision, unchanged: bool) -> Answer {
    let mut answer = json_answer(
        StatusCode::OK,
        &json!({ "revision": revision.number, "unchanged": unchanged }),
    );
    answer
        .headers_mut()
        .insert(header::ETAG, etag(revision.number));
    answer
}

fn outcome(result: Result<ChangeOutcome, ChangeError>) -> Answer {
    match result {
        Ok(ChangeOutcome::Applied(revision)) => changed(&revision, false),
        Ok(ChangeOutcome::Unchanged(revision)) => changed(&revision, true),
        Ok(ChangeOutcome::Valid(diff)) => {
            json_answer(StatusCode::OK, &json!({ "valid": true, "diff": diff }))
        }
        Err(ChangeError::Invalid(errors)) => {
            let list: Vec<Value> = errors
                .iter()
                .map(|e| json!({ "pointer": e.pointer, "message": e.message }))
                .collect();
            json_answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({ "code": "invalid", "message": "the configuration is invalid", "errors": list }),
            )
        }
        Err(ChangeError::Conflict { head }) => {
            let mut answer = problem(
                StatusCode::PRECONDITION_FAILED,
                "conflict",
                &format!("the configuration changed meanwhile; the head is revision {head:?}"),
            );
            if let Some(head) = head {
                answer.headers_mut().insert(header::ETAG, etag(head));
            }
            answer
        }
        Err(ChangeError::NotApplied(reason)) => {
            problem(StatusCode::UNPROCESSABLE_ENTITY, "not_applied", &reason)
        }
        Err(ChangeError::NoStore) => {
            problem(StatusCode::NOT_FOUND, "not_found", "no configuration store")
        }
        Err(ChangeError::Store(error)) => {
            warn!(error = %error, "configuration store failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store",
                &error.to_string(),
            )
        }
    }
}

/// The ETag of one binding or guard: a hash of its JSON.
fn resource_etag(value: &Value) -> String {
    format!("\"{}\"", &crate::store::checksum(value)[..16])
}

fn head_config(app: &App) -> Result<Revision, Box<Answer>> {
    match app.store().map(|s| s.head()) {
        Some(Ok(Some(head))) => Ok(head),
        Some(Ok(None)) | None => Err(Box::new(problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no configuration stored",
        ))),
        Some(Err(error)) => Err(Box::new(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store",
            &error.to_string(),
        ))),
    }
}

fn list_resources(app: &App, kind: &str) -> Answer {
    let head = match head_config(app) {
        Ok(head) => head,
        Err(answer) => return *answer,
    };
    let shown = sluice_shared::secrets::redacted(&head.config);
    let resources = shown.get(kind).cloned().unwrap_or_else(|| json!({}));
    let mut answer = json_answer(StatusCode::OK, &resources);
    answer.headers_mut().insert(header::ETAG, etag(head.number));
    answer
}

fn get_resource(app: &App, kind: &str, name: &str, yaml: bool) -> Answer {
    let head = match head_config(app) {
        Ok(head) => head,
        Err(answer) => return *answer,
    };
    let shown = sluice_shared::secrets::redacted(&head.config);
    let Some(resource) = shown.get(kind).and_then(|m| m.get(name)) else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no {} named '{name}'", singular(kind)),
        );
    };
    let mut answer = if yaml {
        let mut response = Response::new(Full::new(Bytes::from(
            serde_yaml::to_string(resource).unwrap_or_default(),
        )));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        );
        response
    } else {
        json_answer(StatusCode::OK, resource)
    };
    if let Ok(value) = HeaderValue::from_str(&resource_etag(resource)) {
        answer.headers_mut().insert(header::ETAG, value);
    }
    answer
}

fn singular(kind: &str) -> &'static str {
    if kind == "guards" { "guard" } else { "binding" }
}

/// `PUT` or `DELETE` of one binding or guard: the head with that one resource changed,
/// applied like a whole configuration. `If-Match` names the resource's own ETag.
async fn change_resource(app: &App, kind: &str, name: &str, request: Request<Incoming>) -> Answer {
    let head = match head_config(app) {
        Ok(head) => head,
        Err(answer) => return *answer,
    };
    // ETags are those of the resource as GET shows it (secrets redacted).
    let current = sluice_shared::secrets::redacted(&head.config)
        .get(kind)
        .and_then(|m| m.get(name))
        .cloned();
    let wanted = match entity_tag(&request) {
        Ok(wanted) => wanted,
        Err(answer) => return *answer,
    };
    let delete = request.method() == Method::DELETE;
    let dry_run = dry_run(&request);
    let (author, message) = (author(&request), message(&request));
    let action = format!("{} /v1/{kind}/{name}", request.method());
    // A malformed request is a 400 whatever the precondition: the body is read first.
    let resource = if delete {
        None
    } else {
        match read_document(request).await {
            Ok(resource) => match check_shape(kind, &resource) {
                Ok(()) => Some(resource),
                Err(message) => return problem(StatusCode::BAD_REQUEST, "bad_request", &message),
            },
            Err(answer) => return *answer,
        }
    };
    if let Some(EntityTag::Tag(wanted)) = wanted
        && current.as_ref().map(resource_etag).as_deref() != Some(&format!("\"{wanted}\""))
    {
        let mut answer = problem(
            StatusCode::PRECONDITION_FAILED,
            "conflict",
            &format!("the {} changed meanwhile", singular(kind)),
        );
        if let Some(Ok(value)) = current
            .as_ref()
            .map(|c| HeaderValue::from_str(&resource_etag(c)))
        {
            answer.headers_mut().insert(header::ETAG, value);
        }
        return answer;
    }
    let mut config = head.config.clone();
    if delete {
        if current.is_none() {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no {} named '{name}'", singular(kind)),
            );
        }
        if let Some(map) = config.get_mut(kind).and_then(Value::as_object_mut) {
            map.remove(name);
        }
    } else if let Some(resource) = resource {
        match config.as_object_mut() {
            Some(object) => {
                let map = object.entry(kind.to_owned()).or_insert_with(|| json!({}));
                if let Some(map) = map.as_object_mut() {
                    map.insert(name.to_owned(), resource);
                }
            }
            None => {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store",
                    "the stored configuration is not an object",
                );
            }
        }
    }
    let change = ConfigChange {
        config,
        author,
        message: if message.is_empty() {
            action.clone()
        } else {
            message
        },
        expected: Some(Some(head.number)),
        dry_run,
        action,
    };
    outcome(app.change(change).await)
}

async fn rollback(app: &App, number: &str, request: &Request<Incoming>) -> Answer {
    let Some(store) = app.store() else {
        return problem(StatusCode::NOT_FOUND, "not_found", "no configuration store");
    };
    let Ok(number) = number.parse::<u64>() else {
        return problem(StatusCode::NOT_FOUND, "not_found", "no such revision");
    };
    let expected = match if_match(request) {
        Ok(expected) => expected,
        Err(answer) => return *answer,
    };
    let revision = match store.get(number) {
        Ok(Some(revision)) => revision,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such revision (or no longer kept)",
            );
        }
        Err(error) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store",
                &error.to_string(),
            );
        }
    };
    let change = ConfigChange {
        config: revision.config,
        author: author(request),
        message: format!("rollback to revision {number}"),
        expected,
        dry_run: false,
        action: format!("POST /v1/revisions/{number}/rollback"),
    };
    outcome(app.change(change).await)
}
