//! Response bodies and builders shared by the handlers.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use hyper::body::{Frame, SizeHint};
use sluice_shared::ErrorCode;
use tokio::sync::mpsc;

use crate::error::DataPlaneError;

/// The body of every response: whole, or a stream of chunks (SSE).
#[derive(Debug, Default)]
pub enum Body {
    /// A complete body; `None` once sent, or when empty.
    #[default]
    Empty,
    /// A complete body.
    Full(Option<Bytes>),
    /// Chunks as they come; the stream ends when the sender is dropped, and is cut (h2:
    /// `RST_STREAM`; HTTP/1.1: connection closed) on an [`Aborted`] item.
    Stream(mpsc::Receiver<Result<Bytes, Aborted>>),
}

impl Body {
    /// The length of a complete body; `None` for a stream.
    pub(crate) fn exact_len(&self) -> Option<u64> {
        match self {
            Self::Empty => Some(0),
            Self::Full(bytes) => Some(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Stream(_) => None,
        }
    }
}

/// A stream cut on purpose, e.g. when its authorization expired.
#[derive(Debug, thiserror::Error)]
#[error("stream ended: {0}")]
pub struct Aborted(pub &'static str);

impl Body {
    /// A complete body.
    pub fn new(bytes: Bytes) -> Self {
        if bytes.is_empty() {
            Self::Empty
        } else {
            Self::Full(Some(bytes))
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.get_mut() {
            Self::Empty => Poll::Ready(None),
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(receiver) => receiver
                .poll_recv(cx)
                .map(|chunk| chunk.map(|item| item.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Empty | Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty | Self::Full(None) => SizeHint::with_exact(0),
            Self::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Self::Stream(_) => SizeHint::default(),
        }
    }
}

/// Seconds a client should wait before retrying a `Retry-After` response.
const RETRY_AFTER_SECONDS: &str = "2";

/// An empty response with `status`.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// The answer to `error`: its status, and the JSON error body `{"code": ..., "message": ...}`
/// (an RFC 9457 problem for payloads that do not fit their models).
pub fn error(error: &DataPlaneError) -> Response<Body> {
    let code = error.code();
    let (body, content_type) = error_body(error, code);
    let mut response = Response::new(Body::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if code.retryable() {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    if code == ErrorCode::MethodNotAllowed {
        let allow = match error {
            DataPlaneError::ReadOnly { .. } => "GET, HEAD",
            _ => "GET",
        };
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    match error {
        DataPlaneError::Unauthorized { invalid, .. } => {
            let value = if *invalid {
                r#"Bearer realm="sluice", error="invalid_token""#
            } else {
                r#"Bearer realm="sluice""#
            };
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        DataPlaneError::InsufficientScope { roles } => {
            let value = format!(
                r#"Bearer realm="sluice", error="insufficient_scope", scope="{}""#,
                roles.join(" ").replace(['"', '\\'], "")
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        // The connection cannot go on after these: its framing is unknown, or it is cut.
        DataPlaneError::AmbiguousLength
        | DataPlaneError::BodyStalled { .. }
        | DataPlaneError::BareLineFeed
        | DataPlaneError::HeadTimeout
        | DataPlaneError::UriTooLong
        | DataPlaneError::HeadersTooLarge { .. }
        | DataPlaneError::TooManyConnections => {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
    response
}

/// The body of an error answer and its content type.
fn error_body(error: &DataPlaneError, code: ErrorCode) -> (serde_json::Value, &'static str) {
    match error {
        DataPlaneError::Invalid(problem) => (
            problem.body(
                code.status(),
                code.as_str(),
                "the request does not fit its model",
            ),
            "application/problem+json",
        ),
        DataPlaneError::UpstreamInvalid(problem) => (
            problem.body(
                code.status(),
                code.as_str(),
                "the upstream's response does not fit its model",
            ),
            "application/problem+json",
        ),
        _ => (
            serde_json::json!({ "code": code.as_str(), "message": error.to_string() }),
            "application/json",
        ),
    }
}
