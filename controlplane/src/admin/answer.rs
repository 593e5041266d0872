//! Building admin API answers: JSON bodies, problems (`{code, message}`), revisions with
//! their ETags, and the outcome of a change.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::app::{ChangeError, ChangeOutcome};
use crate::store::Revision;

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

pub(crate) fn etag(number: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{number}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

pub(crate) fn method_not_allowed(allow: &'static str) -> Answer {
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
pub(crate) fn revision_answer(revision: &Revision, yaml: bool, secrets: bool) -> Answer {
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

/// `{"revision": n, "unchanged": ...}` with the revision's ETag.
pub(crate) fn changed(revision: &Revision, unchanged: bool) -> Answer {
    let mut answer = json_answer(
        StatusCode::OK,
        &json!({ "revision": revision.number, "unchanged": unchanged }),
    );
    answer
        .headers_mut()
        .insert(header::ETAG, etag(revision.number));
    answer
}

pub(crate) fn outcome(result: Result<ChangeOutcome, ChangeError>) -> Answer {
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
        Err(refused @ (ChangeError::NotApplied(_) | ChangeError::Embedded(_))) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_applied",
            &refused.to_string(),
        ),
        Err(ChangeError::NoStore) => {
            problem(StatusCode::NOT_FOUND, "not_found", "no configuration store")
        }
        Err(ChangeError::Store(error)) => store_failure(&error),
    }
}

/// The ETag of one binding or guard: a hash of its JSON.
pub(crate) fn resource_etag(value: &Value) -> String {
    format!("\"{}\"", &crate::store::checksum(value)[..16])
}

/// 500 for a store failure: the detail goes to the log, never to the client.
pub(crate) fn store_failure(error: &crate::store::StoreError) -> Answer {
    tracing::error!(error = %error, "configuration store failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "store",
        "the configuration store failed; the control plane's log has the detail",
    )
}
