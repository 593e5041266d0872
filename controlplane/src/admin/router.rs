//! The admin API's route table and router: authorization, then one handler per route.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::json;

use sluice_dataplane::FileAcceptor;

use super::answer::{Answer, admin_tls_metrics, json_answer, metrics_answer};
use super::config::{get_config, get_revision, list_revisions, put_config, rollback};
use super::error::{ApiError, NotFound};
use super::request::{check_flags, wants_yaml, with_secrets};
use super::resources::{change_resource, get_resource, list_resources};
use super::token::{Token, authorized};
use crate::app::App;

/// Every route of the admin API (method, path template). The OpenAPI document lists the
/// same (a test checks both ways), and `tests/tests/admin.rs` checks that each is routed.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/v1/status"),
    ("GET", "/v1/traffic"),
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
    (app, tls): (&App, Option<&FileAcceptor>),
    token: &Token,
    open_reads: bool,
    request: Request<Incoming>,
) -> Answer {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let answered = match admit(token, open_reads, &request, &segments) {
        Ok(()) => route((app, tls), request, &path, &segments).await,
        Err(refused) => Err(refused),
    };
    // The one place where the admin API's errors become answers.
    answered.unwrap_or_else(ApiError::into_answer)
}

/// One handler per route.
async fn route(
    (app, tls): (&App, Option<&FileAcceptor>),
    request: Request<Incoming>,
    path: &str,
    segments: &[&str],
) -> Result<Answer, ApiError> {
    let method = request.method().clone();
    Ok(match (method.clone(), segments) {
        (Method::GET, ["healthz"]) => json_answer(StatusCode::OK, &json!({ "status": "ok" })),
        (Method::GET, ["readyz"]) => readiness(app).await?,
        (Method::GET, ["openapi.json"]) => {
            let mut answer = Response::new(Full::new(Bytes::from(crate::openapi::document())));
            answer.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            answer
        }
        (Method::GET, ["metrics"]) => {
            let mut text = app.render_metrics();
            admin_tls_metrics(&mut text, tls);
            metrics_answer(text)
        }
        (Method::GET, ["ui"]) if !path.ends_with('/') => super::ui::redirect(),
        (Method::GET, ["ui"]) => super::ui::asset("")?,
        (Method::GET, ["ui", file]) => super::ui::asset(file)?,
        (Method::GET, ["favicon.ico"]) => super::ui::asset(super::ui::FAVICON)?,
        (Method::GET, ["v1", "status"]) => json_answer(StatusCode::OK, &json!(app.status())),
        (Method::GET, ["v1", "traffic"]) => {
            json_answer(StatusCode::OK, &super::traffic::view(app.traffic()))
        }
        (Method::GET, ["v1", "config"]) => get_config(app, &request).await?,
        (Method::PUT, ["v1", "config"]) => put_config(app, request).await?,
        (Method::GET, ["v1", "revisions"]) => list_revisions(app).await?,
        (Method::GET, ["v1", "revisions", number]) => get_revision(app, number, &request).await?,
        (Method::POST, ["v1", "revisions", number, "rollback"]) => {
            rollback(app, number, &request).await?
        }
        (Method::GET, ["v1", kind @ ("bindings" | "guards")]) => list_resources(app, kind).await?,
        (Method::GET, ["v1", kind @ ("bindings" | "guards"), name]) => {
            get_resource(app, kind, name, wants_yaml(&request)).await?
        }
        (Method::PUT | Method::DELETE, ["v1", kind @ ("bindings" | "guards"), name]) => {
            let (kind, name) = ((*kind).to_owned(), (*name).to_owned());
            change_resource(app, &kind, &name, request).await?
        }
        (_, segments) if known_path(segments).is_some() => {
            return Err(ApiError::MethodNotAllowed(
                known_path(segments).unwrap_or("GET"),
            ));
        }
        _ => {
            return Err(NotFound::NoRoute {
                method: method.to_string(),
                path: path.to_owned(),
            }
            .into());
        }
    })
}

/// The methods a known path answers (`Allow`), or `None` for a path the API does not have.
fn known_path(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["v1", "bindings" | "guards", _] => "GET, PUT, DELETE",
        ["v1", "config"] => "GET, PUT",
        ["v1", "revisions", _, "rollback"] => "POST",
        [
            "v1",
            "bindings" | "guards" | "status" | "traffic" | "revisions",
        ]
        | ["v1", "revisions", _]
        | ["healthz" | "readyz" | "metrics" | "openapi.json"]
        | ["ui", ..]
        | ["favicon.ico"] => "GET",
        _ => return None,
    })
}

/// The checks before any route: 405 for a method the path does not take (before any token
/// check), 401 without the token (reads are open on loopback, secrets never), 400 for a
/// boolean query parameter that is not `true` or `false`.
fn admit(
    token: &Token,
    open_reads: bool,
    request: &Request<Incoming>,
    segments: &[&str],
) -> Result<(), ApiError> {
    let method = request.method();
    if let Some(allow) = known_path(segments)
        && !allow
            .split(", ")
            .any(|m| m == method.as_str() || (m == "GET" && method == Method::HEAD))
    {
        return Err(ApiError::MethodNotAllowed(allow));
    }
    let read = method == Method::GET || method == Method::HEAD;
    let authorized = authorized(Some(token), request);
    if !authorized
        && (!read || !open_reads)
        && !matches!(
            segments,
            ["healthz"] | ["readyz"] | ["ui", ..] | ["favicon.ico"]
        )
    {
        return Err(ApiError::Unauthorized);
    }
    check_flags(request, &["dry_run", "secrets"])?;
    if !authorized && with_secrets(request) {
        return Err(ApiError::Unauthorized);
    }
    Ok(())
}

/// `/readyz`: a configuration applied (when there is a store) and every Kafka cluster it
/// uses able to take writes.
async fn readiness(app: &App) -> Result<Answer, ApiError> {
    let revision = app.status().live_revision;
    if revision.is_none() && app.store().is_some() {
        return Err(ApiError::NotReady(
            "no configuration applied yet".to_owned(),
        ));
    }
    app.kafka_ready()
        .await
        .map_err(|reason| ApiError::NotReady(reason.to_string()))?;
    Ok(json_answer(
        StatusCode::OK,
        &json!({ "status": "ready", "revision": revision }),
    ))
}
