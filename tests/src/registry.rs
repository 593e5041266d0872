//! A schema registry for the tests, speaking the subset of the Confluent Schema Registry REST
//! API that Sluice and Confluent's clients call (written from Confluent's public API
//! reference): registering a schema under a subject, a subject's versions, a schema by id.
//! No Kafka behind it; state lives in memory. The test can count requests, require an
//! `authorization` header, and take the registry down.
//!
//! - `POST /subjects/{subject}/versions` `{"schema", "schemaType"?}` -> `{"id"}`; the same
//!   schema text always gets the same id, and a subject's version only when it changes.
//! - `GET /subjects/{subject}/versions/{version|latest}` -> `{"subject", "version", "id",
//!   "schema", "schemaType"?}`; 404 with `error_code` 40401 (subject) or 40402 (version).
//! - `GET /schemas/ids/{id}` -> `{"schema", "schemaType"?}`; 404 with 40403.
//! - `GET /subjects` -> the subject names.
//! - `GET /_requests` (the tests' own): how many requests the registry answered, this one
//!   not counted; for benchmarks that run it as a process (`sluice-bench registry`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    /// Schema texts with their type, by id (1, 2, ...).
    schemas: Vec<(String, Option<String>)>,
    /// Subject to the ids of its versions (version n is index n - 1).
    subjects: BTreeMap<String, Vec<i64>>,
}

/// A running test registry.
pub struct TestRegistry {
    /// `http://127.0.0.1:port`.
    pub url: String,
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicU64>,
    down: Arc<AtomicBool>,
    /// The server task.
    pub task: tokio::task::JoinHandle<()>,
}

impl TestRegistry {
    /// Starts a registry on a loopback port; `authorization`, when given, is the only
    /// `authorization` header it answers.
    pub async fn start(authorization: Option<&str>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let requests = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let shared = Shared {
            state: state.clone(),
            requests: requests.clone(),
            down: down.clone(),
            authorization: authorization.map(str::to_owned),
        };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(shared.answer(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url,
            state,
            requests,
            down,
            task,
        })
    }

    /// Registers `schema` (of `schema_type`: `AVRO`, `PROTOBUF`, `JSON`) under `subject`,
    /// as a client's POST would; returns its id.
    pub fn register(&self, subject: &str, schema: &str, schema_type: &str) -> i64 {
        let kind = (schema_type != "AVRO").then(|| schema_type.to_owned());
        register(&mut lock(&self.state), subject, schema, kind)
    }

    /// Requests answered so far (any path).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Takes the registry down (every request answers 503) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn register(state: &mut State, subject: &str, schema: &str, kind: Option<String>) -> i64 {
    let id = match state
        .schemas
        .iter()
        .position(|(s, k)| s == schema && *k == kind)
    {
        Some(index) => index as i64 + 1,
        None => {
            state.schemas.push((schema.to_owned(), kind));
            state.schemas.len() as i64
        }
    };
    let versions = state.subjects.entry(subject.to_owned()).or_default();
    if versions.last() != Some(&id) {
        versions.push(id);
    }
    id
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicU64>,
    down: Arc<AtomicBool>,
    authorization: Option<String>,
}

impl Shared {
    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if request.uri().path() == "/_requests" {
            return reply(StatusCode::OK, json!(self.requests.load(Ordering::SeqCst)));
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error_code": 50301, "message": "down for the test"}),
            );
        }
        if let Some(expected) = &self.authorization {
            let given = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if given != Some(expected.as_str()) {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    json!({"error_code": 40101, "message": "Unauthorized"}),
                );
            }
        }
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let segments: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let body = request
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mut state = lock(&self.state);
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["subjects", subject, "versions"]) => {
                let Ok(document) = serde_json::from_slice::<Value>(&body) else {
                    return reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"error_code": 42201, "message": "Invalid schema"}),
                    );
                };
                let Some(schema) = document.get("schema").and_then(Value::as_str) else {
                    return reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"error_code": 42201, "message": "Invalid schema"}),
                    );
                };
                let kind = document
                    .get("schemaType")
                    .and_then(Value::as_str)
                    .filter(|k| *k != "AVRO")
                    .map(str::to_owned);
                let id = register(&mut state, subject, schema, kind);
                reply(StatusCode::OK, json!({"id": id}))
            }
            ("GET", ["subjects"]) => reply(
                StatusCode::OK,
                json!(state.subjects.keys().collect::<Vec<_>>()),
            ),
            ("GET", ["subjects", subject, "versions", version]) => {
                let Some(versions) = state.subjects.get(*subject) else {
                    return reply(
                        StatusCode::NOT_FOUND,
                        json!({"error_code": 40401, "message": "Subject not found."}),
                    );
                };
                let index = match *version {
                    "latest" | "-1" => versions.len().checked_sub(1),
                    number => number.parse::<usize>().ok().and_then(|n| n.checked_sub(1)),
                };
                let Some((index, id)) = index.and_then(|i| versions.get(i).map(|id| (i, *id)))
                else {
                    return reply(
                        StatusCode::NOT_FOUND,
                        json!({"error_code": 40402, "message": "Version not found."}),
                    );
                };
                let (schema, kind) = &state.schemas[usize::try_from(id - 1).unwrap_or_default()];
                let mut answer =
                    json!({"subject": subject, "version": index + 1, "id": id, "schema": schema});
                if let Some(kind) = kind {
                    answer["schemaType"] = json!(kind);
                }
                reply(StatusCode::OK, answer)
            }
            ("GET", ["schemas", "ids", id]) => {
                let found = id
                    .parse::<usize>()
                    .ok()
                    .and_then(|id| id.checked_sub(1))
                    .and_then(|i| state.schemas.get(i));
                let Some((schema, kind)) = found else {
                    return reply(
                        StatusCode::NOT_FOUND,
                        json!({"error_code": 40403, "message": "Schema not found"}),
                    );
                };
                let mut answer = json!({"schema": schema});
                if let Some(kind) = kind {
                    answer["schemaType"] = json!(kind);
                }
                reply(StatusCode::OK, answer)
            }
            _ => reply(
                StatusCode::NOT_FOUND,
                json!({"error_code": 404, "message": "HTTP 404 Not Found"}),
            ),
        }
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/vnd.schemaregistry.v1+json"),
    );
    response
}
