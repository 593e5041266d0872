//! The admin API's route table and router: authorization, then one handler per route.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::answer::{
    Answer, json_answer, method_not_allowed, metrics_answer, problem, revision_answer,
    store_failure,
};
use super::config::{get_config, put_config, rollback};
use super::request::{check_flags, wants_yaml, with_secrets};
use super::resources::{change_resource, get_resource, list_resources};
use super::token::{Token, authorized, unauthorized};
use crate::app::App;

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

pub(crate) async fn handle(
    app: &App,
    token: &Token,
    open_reads: bool,
    request: Request<Incoming>,
) -> Answer {
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
        (Method::GET, ["ui"]) if !path.ends_with('/') => super::ui::redirect(),
        (Method::GET, ["ui"]) => super::ui::asset(""),
        (Method::GET, ["ui", file]) => super::ui::asset(file),
        (Method::GET, ["v1", "status"]) => json_answer(StatusCode::OK, &json!(app.status())),
        (Method::GET, ["v1", "config"]) => get_config(app, &request).await,
        (Method::PUT, ["v1", "config"]) => put_config(app, request).await,
        (Method::GET, ["v1", "revisions"]) => match store {
            Some(store) => match store.list(100).await {
                Ok(list) => {
                    let items: Vec<Value> = list
                        .iter()
                        .map(|r| {
                            json!({ "number": r.number, "parent": r.parent, "author": r.author,
                                    "message": r.message, "created_ms": r.created_ms, "checksum": r.checksum })
                        })
                        .collect();
                    json_answer(StatusCode::OK, &json!({ "revisions": items }))
                }
                Err(error) => store_failure(&error),
            },
            None => problem(StatusCode::NOT_FOUND, "not_found", "no configuration store"),
        },
        (Method::GET, ["v1", "revisions", number]) => match (number.parse::<u64>(), store) {
            (Ok(number), Some(store)) => match store.get(number).await {
                Ok(Some(revision)) => revision_answer(&revision, wants_yaml(&request), false),
                Ok(None) => problem(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no such revision (or no longer kept)",
                ),
                Err(error) => store_failure(&error),
            },
            _ => problem(StatusCode::NOT_FOUND, "not_found", "no such revision"),
        },
        (Method::POST, ["v1", "revisions", number, "rollback"]) => {
            rollback(app, number, &request).await
        }
        (Method::GET, ["v1", kind @ ("bindings" | "guards")]) => list_resources(app, kind).await,
        (Method::GET, ["v1", kind @ ("bindings" | "guards"), name]) => {
            get_resource(app, kind, name, wants_yaml(&request)).await
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
