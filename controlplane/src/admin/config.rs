//! The whole configuration: `GET` (with `If-None-Match` and long-poll for data planes that
//! follow), `PUT`, and rollback to an earlier revision.

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use sluice_shared::wire::etag::IfNoneMatch;
use sluice_shared::wire::prefer::Prefer;

use super::answer::{Answer, etag, json_answer, revision_answer};
use super::error::{ApiError, BadRequest, NotFound};
use super::outcome::outcome;
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
pub(crate) async fn get_config(app: &App, request: &Request<Incoming>) -> Result<Answer, ApiError> {
    let store = app.store().ok_or(NotFound::NoConfiguration)?;
    record_follower(app, request)?;
    let (not_if, wait) = conditions(request)?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    let mut live = app.live_revisions();
    loop {
        live.borrow_and_update();
        let head = store.head().await?.ok_or(NotFound::NoConfiguration)?;
        let unchanged = not_if
            .as_ref()
            .is_some_and(|condition| condition.matches(&head.number.to_string()));
        if !unchanged {
            return Ok(revision_answer(
                &head,
                wants_yaml(request),
                with_secrets(request),
            ));
        }
        let woken = tokio::time::timeout_at(deadline, live.changed()).await;
        if !matches!(woken, Ok(Ok(()))) {
            let mut answer = Response::new(Full::new(Bytes::new()));
            *answer.status_mut() = StatusCode::NOT_MODIFIED;
            answer.headers_mut().insert(header::ETAG, etag(head.number));
            return Ok(answer);
        }
    }
}

/// The conditions of `GET /v1/config`: `If-None-Match` (revision numbers only) and the
/// seconds to wait for a change (`prefer: wait=N`, at most [`MAX_CONFIG_WAIT_SECONDS`]).
fn conditions(request: &Request<Incoming>) -> Result<(Option<IfNoneMatch>, u64), BadRequest> {
    let headers = request.headers();
    let not_if = match IfNoneMatch::parse(headers)? {
        // Revisions are numbers: another tag can never match, and is a mistake.
        Some(IfNoneMatch::Tags(tags))
            if !tags
                .iter()
                .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())) =>
        {
            return Err(BadRequest::IfNoneMatchRevision);
        }
        condition => condition,
    };
    let prefer = Prefer::parse(headers)?;
    prefer.check_wait(MAX_CONFIG_WAIT_SECONDS)?;
    Ok((not_if, prefer.wait.unwrap_or(0)))
}

/// Records a following data plane's report, when the request carries one.
fn record_follower(app: &App, request: &Request<Incoming>) -> Result<(), BadRequest> {
    let headers = request.headers();
    let applied = match headers.get("sluice-applied-revision") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(BadRequest::AppliedRevision)?,
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
        .ok_or(BadRequest::DataPlaneId)?;
    let error = headers.get("sluice-apply-error").map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(500)
            .collect()
    });
    app.report_data_plane(id.to_owned(), applied, error);
    Ok(())
}

/// `PUT /v1/config`: a whole new configuration.
pub(crate) async fn put_config(app: &App, request: Request<Incoming>) -> Result<Answer, ApiError> {
    let expected = if_match(&request)?;
    let dry_run = dry_run(&request);
    let (author, message) = (author(&request), message(&request));
    let config = read_document(request).await?;
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

/// `POST /v1/revisions/{n}/rollback`: a new revision equal to revision n.
pub(crate) async fn rollback(
    app: &App,
    number: &str,
    request: &Request<Incoming>,
) -> Result<Answer, ApiError> {
    let store = app.store().ok_or(NotFound::NoStore)?;
    let number = number.parse::<u64>().map_err(|_| NotFound::NoRevision)?;
    let expected = if_match(request)?;
    let revision = store.get(number).await?.ok_or(NotFound::NotKept)?;
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
pub(crate) async fn list_revisions(app: &App) -> Result<Answer, ApiError> {
    let store = app.store().ok_or(NotFound::NoStore)?;
    let items: Vec<Value> = store
        .list(100)
        .await?
        .iter()
        .map(|r| {
            json!({ "number": r.number, "parent": r.parent, "author": r.author,
                    "message": r.message, "created_ms": r.created_ms, "checksum": r.checksum })
        })
        .collect();
    Ok(json_answer(StatusCode::OK, &json!({ "revisions": items })))
}

/// `GET /v1/revisions/{n}`: one revision, JSON or YAML.
pub(crate) async fn get_revision(
    app: &App,
    number: &str,
    request: &Request<Incoming>,
) -> Result<Answer, ApiError> {
    let (Ok(number), Some(store)) = (number.parse::<u64>(), app.store()) else {
        return Err(NotFound::NoRevision.into());
    };
    let revision = store.get(number).await?.ok_or(NotFound::NotKept)?;
    Ok(revision_answer(&revision, wants_yaml(request), false))
}
