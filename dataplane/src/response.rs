//! Response builders shared by the handlers.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use sluice_shared::ErrorCode;

use crate::error::DataPlaneError;

/// The body type of every response.
pub type Body = Full<Bytes>;

/// Seconds a client should wait before retrying a `Retry-After` response.
const RETRY_AFTER_SECONDS: &str = "2";

/// An empty response with `status`.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response
}

/// The JSON error body `{"code": ..., "message": ...}` for `error`.
pub fn error(error: &DataPlaneError) -> Response<Body> {
    let code = error.code();
    let body = serde_json::json!({ "code": code.as_str(), "message": error.to_string() });
    let mut response = Response::new(Body::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if code.retryable() {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    if code == ErrorCode::ShuttingDown {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
