//! The whole configuration: `GET` (with `If-None-Match` and long-poll for data planes that
//! follow), `PUT`, and rollback to an earlier revision.

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use sluice_shared::wire::etag::IfNoneMatch;
use sluice_shared::wire::prefer::Prefer;

use super::answer::{Answer, etag, json_answer, outcome, problem, revision_answer, store_failure};
use super::request::{author, dry_run, if_match, message, read_document, wants_yaml, with_secrets};
use crate::app::{App, ConfigChange};

/// Longest `prefer: wait=N` on `GET /v1/config`, seconds.
const MAX_CONFIG_WAIT_SECONDS: u64 = 300;

/// Longest data-plane id.
const MAX_DATA_PLANE_ID: usize = 64;

/// `GET /v1/config`: the head. With `If-None-Match` naming the head: 304, or with
/// `prefer: wait=N` the answer waits up to N seconds for the next applied revision. This
/// is how separate data planes follow (`crate::follow`); they say who they are and what
/// they run in `sluice-data-plane`, `sluice-applied-revision` and `sluice-apply-error`.
pub(crate) async fn get_config(app: &App, request: &Request<Incoming>) -> Answer {
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
    let (not_if, wait) = match conditions(request) {
        Ok(conditions) => conditions,
        Err(answer) => return *answer,
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    let mut live = app.live_revisions();
    loop {
        live.borrow_and_update();
        let head = match store.head().await {
            Ok(Some(head)) => head,
            Ok(None) => {
                return problem(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no configuration stored",
                );
            }
            Err(error) => {
                return store_failure(&error);
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

/// The conditions of `GET /v1/config`: `If-None-Match` (revision numbers only) and the
/// seconds to wait for a change (`prefer: wait=N`, at most [`MAX_CONFIG_WAIT_SECONDS`]).
fn conditions(request: &Request<Incoming>) -> Result<(Option<IfNoneMatch>, u64), Box<Answer>> {
    let bad = |message: &str| Box::new(problem(StatusCode::BAD_REQUEST, "bad_request", message));
    let headers = request.headers();
    let not_if = match IfNoneMatch::parse(headers) {
        // Revisions are numbers: another tag can never match, and is a mistake.
        Ok(Some(IfNoneMatch::Tags(tags)))
            if !tags
                .iter()
                .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return Err(bad("if-none-match must name revisions, such as \"3\""));
        }
        Ok(condition) => condition,
        Err(message) => return Err(bad(&message.to_string())),
    };
    let wait = Prefer::parse(headers)
        .and_then(|prefer| {
            prefer.check_wait(MAX_CONFIG_WAIT_SECONDS)?;
            Ok(prefer.wait)
        })
        .map_err(|message| bad(&message.to_string()))?;
    Ok((not_if, wait.unwrap_or(0)))
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

pub(crate) async fn put_config(app: &App, request: Request<Incoming>) -> Answer {
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

pub(crate) async fn rollback(app: &App, number: &str, request: &Request<Incoming>) -> Answer {
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
    let revision = match store.get(number).await {
        Ok(Some(revision)) => revision,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such revision (or no longer kept)",
            );
        }
        Err(error) => {
            return store_failure(&error);
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

/// `GET /v1/revisions`: the newest 100 revisions, without their configurations.
pub(crate) async fn list_revisions(app: &App) -> Answer {
    let Some(store) = app.store() else {
        return problem(StatusCode::NOT_FOUND, "not_found", "no configuration store");
    };
    match store.list(100).await {
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
    }
}

/// `GET /v1/revisions/{n}`: one revision, JSON or YAML.
pub(crate) async fn get_revision(app: &App, number: &str, request: &Request<Incoming>) -> Answer {
    let (Ok(number), Some(store)) = (number.parse::<u64>(), app.store()) else {
        return problem(StatusCode::NOT_FOUND, "not_found", "no such revision");
    };
    match store.get(number).await {
        Ok(Some(revision)) => revision_answer(&revision, wants_yaml(request), false),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such revision (or no longer kept)",
        ),
        Err(error) => store_failure(&error),
    }
}
