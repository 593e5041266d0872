//! [`ApiError`]: every way an admin request can be refused, and the one place where they
//! become answers. Each kind has one status and one JSON `code`; store failures are logged
//! and answered without their detail.

use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use sluice_shared::wire::header::HeaderError;

use super::answer::{Answer, etag, json_answer, problem};
use crate::app::ChangeError;
use crate::store::StoreError;

/// Why an admin request is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A query parameter, header or body the API cannot take (400).
    #[error("{0}")]
    BadRequest(#[from] BadRequest),
    /// No credentials, or not the admin token (401).
    #[error("this needs 'authorization: Bearer <admin token>'")]
    Unauthorized,
    /// Nothing there (404).
    #[error("{0}")]
    NotFound(#[from] NotFound),
    /// The path does not take this method (405).
    #[error("method not allowed here")]
    MethodNotAllowed(&'static str),
    /// A binding or guard changed since the ETag the request named (412).
    #[error("the {kind} changed meanwhile")]
    ResourceChanged {
        /// `binding` or `guard`.
        kind: &'static str,
        /// Its current ETag, if it exists.
        etag: Option<String>,
    },
    /// A body over the configuration document limit (413).
    #[error("a configuration document is at most {0} bytes")]
    PayloadTooLarge(usize),
    /// Not ready to serve (503).
    #[error("{0}")]
    NotReady(String),
    /// The store failed (500; the detail is logged).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change was refused (422, 412, 404 or 500 by its kind).
    #[error(transparent)]
    Change(#[from] ChangeError),
}

/// A request the admin API cannot take.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadRequest {
    /// A boolean query parameter that is neither `true` nor `false`.
    #[error("query parameter '{name}' must be true or false, not '{value}'")]
    Flag {
        /// The parameter.
        name: String,
        /// What it was.
        value: String,
    },
    /// The body is not UTF-8.
    #[error("the body is not UTF-8")]
    NotUtf8,
    /// The body is not YAML.
    #[error("not YAML: {0}")]
    NotYaml(String),
    /// The body is not JSON.
    #[error("not JSON: {0} (send content-type: application/yaml for YAML)")]
    NotJson(String),
    /// `If-Match` is not `*` or one entity tag.
    #[error("If-Match must be * or one entity tag such as \"3\"")]
    IfMatch,
    /// `If-Match` on the configuration is not `*` or a revision.
    #[error("If-Match must be * or a revision ETag such as \"3\"")]
    IfMatchRevision,
    /// `If-None-Match` on the configuration names something that is not a revision.
    #[error("if-none-match must name revisions, such as \"3\"")]
    IfNoneMatchRevision,
    /// A malformed `Prefer` or `If-None-Match`.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A data plane's `sluice-applied-revision` that is not a number.
    #[error("sluice-applied-revision must be a revision number")]
    AppliedRevision,
    /// A data plane's `sluice-data-plane` id out of its alphabet or length.
    #[error("sluice-data-plane must be 1 to 64 letters, digits, '.', '_' or '-'")]
    DataPlaneId,
    /// A binding or guard that does not have its shape.
    #[error(transparent)]
    Shape(#[from] ShapeError),
}

/// Why a binding or guard sent alone does not have the shape the OpenAPI document gives.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ShapeError {
    /// Not a JSON object.
    #[error("a {0} is a JSON object")]
    NotObject(&'static str),
    /// A required field is missing.
    #[error("missing field '{0}'")]
    Missing(&'static str),
    /// A field of the wrong JSON type.
    #[error("field '{0}' has the wrong type")]
    WrongType(&'static str),
    /// A field the shape does not have.
    #[error("unknown field '{0}'")]
    Unknown(String),
}

/// What the admin API does not have.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotFound {
    /// The app runs without a store.
    #[error("no configuration store")]
    NoStore,
    /// The store is empty.
    #[error("no configuration stored")]
    NoConfiguration,
    /// A revision number that is not one.
    #[error("no such revision")]
    NoRevision,
    /// A revision that was never made, or is no longer kept.
    #[error("no such revision (or no longer kept)")]
    NotKept,
    /// A binding or guard of that name.
    #[error("no {kind} named '{name}'")]
    NoResource {
        /// `binding` or `guard`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// A path the API does not have.
    #[error("no admin route for {method} {path}")]
    NoRoute {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// A web UI file that does not exist.
    #[error("no web UI file '{0}'")]
    NoFile(String),
}

impl ApiError {
    /// The answer: status, JSON body `{code, message}` (and the errors of an invalid
    /// configuration), and the headers the status calls for.
    pub(crate) fn into_answer(self) -> Answer {
        let (status, code) = match &self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::ResourceChanged { .. } => (StatusCode::PRECONDITION_FAILED, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            Self::Store(error) => return store_failure(error),
            Self::Change(_) => return self.change_answer(),
        };
        let mut answer = problem(status, code, &self.to_string());
        let headers = answer.headers_mut();
        match &self {
            Self::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="sluice-admin""#),
                );
            }
            Self::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::ResourceChanged {
                etag: Some(current),
                ..
            } => {
                if let Ok(value) = HeaderValue::from_str(current) {
                    headers.insert(header::ETAG, value);
                }
            }
            _ => {}
        }
        answer
    }

    /// The answer to a refused change.
    fn change_answer(self) -> Answer {
        let Self::Change(error) = self else {
            return self.into_answer();
        };
        match error {
            ChangeError::Invalid(errors) => {
                let list: Vec<Value> = errors
                    .iter()
                    .map(|e| json!({ "pointer": e.pointer, "message": e.message }))
                    .collect();
                json_answer(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &json!({ "code": "invalid", "message": "the configuration is invalid", "errors": list }),
                )
            }
            ChangeError::Conflict { head } => {
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
            refused @ (ChangeError::NotApplied(_) | ChangeError::Embedded(_)) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_applied",
                &refused.to_string(),
            ),
            ChangeError::NoStore => ApiError::NotFound(NotFound::NoStore).into_answer(),
            ChangeError::Store(error) => store_failure(&error),
        }
    }
}

/// 500 for a store failure: the detail goes to the log, never to the client.
fn store_failure(error: &StoreError) -> Answer {
    tracing::error!(error = %error, "configuration store failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "store",
        "the configuration store failed; the control plane's log has the detail",
    )
}
