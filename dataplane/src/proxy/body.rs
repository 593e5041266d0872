//! Request bodies: read whole, within the route's size limit, the body-read timeout and the
//! process's memory budget.

use bytes::Bytes;
use http::header;
use http::request::Parts;
use http_body_util::Limited;
use hyper::body::Incoming;
use sluice_shared::table::HttpLimits;

use crate::budget::BodyBudget;
use crate::error::DataPlaneError;

/// Reads the whole body, refusing it as soon as it is known to be over the limit, and
/// giving up when it stalls longer than the body-read timeout.
pub(crate) async fn read_body(
    parts: &Parts,
    body: Incoming,
    limits: &HttpLimits,
    budget: &BodyBudget,
) -> Result<Bytes, DataPlaneError> {
    use http_body_util::BodyExt as _;
    let limit = limits.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(DataPlaneError::PayloadTooLarge { limit });
    }
    let mut limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    // The buffer's capacity is what the body holds of the process's budget: the declared
    // length up front, or the buffer as it grows.
    let mut share = budget.share();
    let mut buffer = bytes::BytesMut::new();
    if let Some(length) = declared {
        share.grow_to(length)?;
        buffer.reserve(usize::try_from(length).unwrap_or(0));
    }
    let stall = std::time::Duration::from_millis(limits.body_read_timeout_ms);
    // Each frame must come within the body-read timeout: a client that stops sending half
    // way gets 408 instead of holding its connection and buffer forever.
    loop {
        let frame = match tokio::time::timeout(stall, limited.frame()).await {
            Err(_elapsed) => {
                return Err(DataPlaneError::BodyStalled {
                    timeout_ms: limits.body_read_timeout_ms,
                });
            }
            Ok(None) => return Ok(buffer.freeze()),
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(error))) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(DataPlaneError::PayloadTooLarge { limit });
            }
            Ok(Some(Err(error))) => return Err(DataPlaneError::Body(error.to_string())),
        };
        if let Ok(data) = frame.into_data() {
            let needed = buffer.len() + data.len();
            if needed > buffer.capacity() {
                let grown = needed.max(buffer.capacity() * 2);
                share.grow_to(u64::try_from(grown).unwrap_or(u64::MAX).min(limit))?;
                buffer.reserve(grown - buffer.len());
            }
            buffer.extend_from_slice(&data);
        }
    }
}
