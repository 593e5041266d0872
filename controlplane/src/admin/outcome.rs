//! The answer to a configuration change: the revision made (or equalled), or a dry run's
//! differences; a refused change is an [`ApiError`].

use http::{StatusCode, header};
use serde_json::json;

use super::answer::{Answer, etag, json_answer};
use super::error::ApiError;
use crate::app::{ChangeError, ChangeOutcome};
use crate::store::Revision;

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

/// The answer to a change: the revision made (or equalled), or a dry run's differences.
pub(crate) fn outcome(result: Result<ChangeOutcome, ChangeError>) -> Result<Answer, ApiError> {
    Ok(match result? {
        ChangeOutcome::Applied(revision) => changed(&revision, false),
        ChangeOutcome::Unchanged(revision) => changed(&revision, true),
        ChangeOutcome::Valid(diff) => {
            json_answer(StatusCode::OK, &json!({ "valid": true, "diff": diff }))
        }
    })
}
