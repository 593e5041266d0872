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
    // The budget share is what the body holds of the process's budget: the declared length
    // up front, or the buffer as it grows.
    let mut share = budget.share();
    if let Some(length) = declared {
        share.grow_to(length)?;
    }
    // A body that comes in one frame (the usual case) is kept as it is, without a copy.
    let mut first: Option<Bytes> = None;
    let mut buffer = bytes::BytesMut::new();
    let stall = std::time::Duration::from_millis(limits.body_read_timeout_ms);
    // Each frame must come within the body-read timeout: a client that stops sending half
    // way gets 408 instead of holding its connection and buffer forever.
    loop {
        let frame = match next_frame(&mut limited, stall).await {
            Err(_elapsed) => {
                return Err(DataPlaneError::BodyStalled {
                    timeout_ms: limits.body_read_timeout_ms,
                });
            }
            Ok(None) => return Ok(first.unwrap_or_else(|| buffer.freeze())),
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(error))) if error.is::<http_body_util::LengthLimitError>() => {
                return Err(DataPlaneError::PayloadTooLarge { limit });
            }
            Ok(Some(Err(error))) => return Err(DataPlaneError::Body(error.to_string())),
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if first.is_none() && buffer.is_empty() {
            if declared.is_none() {
                share.grow_to(u64::try_from(data.len()).unwrap_or(u64::MAX))?;
            }
            first = Some(data);
            continue;
        }
        if let Some(head) = first.take() {
            buffer.reserve(declared.map_or(0, |l| usize::try_from(l).unwrap_or(0)));
            append(&mut buffer, &mut share, &head, limit)?;
        }
        append(&mut buffer, &mut share, &data, limit)?;
    }
}

/// Appends `data` to `buffer`, growing the budget share with the buffer's capacity.
fn append(
    buffer: &mut bytes::BytesMut,
    share: &mut crate::budget::Share<'_>,
    data: &[u8],
    limit: u64,
) -> Result<(), DataPlaneError> {
    let needed = buffer.len() + data.len();
    if needed > buffer.capacity() {
        let grown = needed.max(buffer.capacity() * 2);
        share.grow_to(u64::try_from(grown).unwrap_or(u64::MAX).min(limit))?;
        buffer.reserve(grown - buffer.len());
    }
    buffer.extend_from_slice(data);
    Ok(())
}

/// The body's next frame, within `stall`. A frame already received is taken without
/// arming a timer.
async fn next_frame<B>(
    body: &mut B,
    stall: std::time::Duration,
) -> Result<Option<Result<hyper::body::Frame<B::Data>, B::Error>>, tokio::time::error::Elapsed>
where
    B: hyper::body::Body + Unpin,
{
    use http_body_util::BodyExt as _;
    use std::future::Future as _;
    let mut next = std::pin::pin!(body.frame());
    let ready = std::future::poll_fn(|cx| std::task::Poll::Ready(next.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(frame) = ready {
        return Ok(frame);
    }
    tokio::time::timeout(stall, next).await
}
