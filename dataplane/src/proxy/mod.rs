//! What a matched route does: one-way produce ([`produce`]), request-response
//! (`correlate`) and echo.

mod answer;
mod correlate;
pub(crate) mod fetch;
pub mod produce;
pub(crate) mod sink;
pub(crate) mod sse;

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use sluice_shared::table::HttpLimits;

use crate::error::DataPlaneError;
use crate::response::Body;

/// Reads the whole body, refusing it as soon as it is known to be over `limit`.
pub(crate) async fn read_body(
    parts: &Parts,
    body: Incoming,
    limit: u64,
) -> Result<Bytes, DataPlaneError> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(DataPlaneError::PayloadTooLarge { limit });
    }
    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(DataPlaneError::PayloadTooLarge { limit })
        }
        Err(error) => Err(DataPlaneError::Body(error.to_string())),
    }
}

/// `echo` binding: answers 200 with the request's own body and content type, no Kafka.
pub(crate) async fn echo(
    parts: &Parts,
    body: Incoming,
    limits: &HttpLimits,
) -> Result<Response<Body>, DataPlaneError> {
    let bytes = read_body(parts, body, limits.max_body_bytes).await?;
    let mut response = Response::new(Body::new(bytes));
    *response.status_mut() = StatusCode::OK;
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    Ok(response)
}
