//! Event streams relayed from an upstream SSE server (an `sse` server exiting to an `sse`
//! client, Zilla's sse.proxy shape): the upstream's events pass through as they come, and a
//! stream admitted by a guarded route lives on the caller's token as a stream from Kafka
//! does, challenged between two events before expiry and cut at expiry.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use super::sse::{accepts_event_stream, insert_headers};
use super::stream::{Authorization, Due};
use super::upstream::{copy_end_to_end, empty, send};
use crate::error::DataPlaneError;
use crate::guard::session::Session;
use crate::response::{Aborted, Body};
use crate::snapshot::Snapshot;

/// Events buffered ahead of a slow client.
const AHEAD: usize = 16;
/// Largest event held while waiting for its end; a longer one ends the stream.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Opens the upstream stream for `parts` and relays it; `session` when a guarded route
/// admitted the caller.
pub(crate) async fn stream(
    active: &Snapshot,
    upstream: usize,
    parts: &Parts,
    session: Option<(Arc<Session>, u64, Option<u64>)>,
) -> Result<Response<Body>, DataPlaneError> {
    if parts.method != Method::GET {
        return Err(DataPlaneError::MethodNotAllowed {
            method: parts.method.to_string(),
        });
    }
    if !accepts_event_stream(parts) {
        return Err(DataPlaneError::NotAcceptable);
    }
    let response = send(&active.upstreams, upstream, parts, empty()).await?;
    let (head, incoming) = response.into_parts();
    if head.status != StatusCode::OK {
        // Not a stream: the upstream's answer as it is.
        let mut answer = Response::new(collect(incoming).await);
        *answer.status_mut() = head.status;
        copy_end_to_end(&head.headers, answer.headers_mut());
        return Ok(answer);
    }
    let authorization =
        session.map(|(session, leeway, challenge)| Authorization::new(session, leeway, challenge));
    let (sender, receiver) = mpsc::channel(AHEAD);
    tokio::spawn(relay(incoming, sender, authorization));
    let mut answer = Response::new(Body::Stream(receiver));
    insert_headers(answer.headers_mut());
    Ok(answer)
}

async fn collect(incoming: Incoming) -> Body {
    match incoming.collect().await {
        Ok(body) => Body::Full(Some(body.to_bytes())),
        Err(_) => Body::Empty,
    }
}

type Sender = mpsc::Sender<Result<Bytes, Aborted>>;

/// Passes the upstream's events on, whole, until either side ends or the authorization
/// expires; a challenge goes out between two events when it is due.
async fn relay(mut incoming: Incoming, sender: Sender, mut authorization: Option<Authorization>) {
    let mut pending = BytesMut::new();
    loop {
        let wake = authorization.as_ref().map(|a| {
            let (end, challenge) = a.deadlines();
            challenge.unwrap_or(end)
        });
        let deadline = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let renewed = async {
            match authorization.as_mut() {
                Some(a) => {
                    let _ = a.expiry.changed().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = incoming.frame() => match frame {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else { continue };
                    pending.extend_from_slice(&data);
                    if !flush_events(&mut pending, &sender).await {
                        return;
                    }
                    if pending.len() > MAX_EVENT_BYTES {
                        let _ = sender.send(Err(Aborted("an upstream event is too large"))).await;
                        return;
                    }
                }
                Some(Err(_)) => {
                    let _ = sender.send(Err(Aborted("the upstream broke the stream"))).await;
                    return;
                }
                None => return,
            },
            () = deadline => {
                let Some(a) = authorization.as_mut() else { continue };
                match a.due() {
                    Due::Nothing => {}
                    Due::Challenge => {
                        if sender.send(Ok(a.challenge_event())).await.is_err() {
                            return;
                        }
                    }
                    Due::End => {
                        let _ = sender.send(Err(Aborted("authorization expired"))).await;
                        return;
                    }
                }
            }
            () = renewed => {}
            () = sender.closed() => return,
        }
    }
}

/// Sends every complete event (ended by a blank line) of `pending`; false when the client
/// is gone.
async fn flush_events(pending: &mut BytesMut, sender: &Sender) -> bool {
    while let Some(end) = event_end(pending) {
        let event = pending.split_to(end).freeze();
        if sender.send(Ok(event)).await.is_err() {
            return false;
        }
    }
    true
}

/// Where the first event of `bytes` ends (after its blank line), for `\n`, `\r\n` and `\r`
/// line ends.
fn event_end(bytes: &[u8]) -> Option<usize> {
    let mut previous_was_end = false;
    let mut index = 0;
    while index < bytes.len() {
        let line_end = match bytes[index] {
            b'\n' => 1,
            b'\r' if bytes.get(index + 1) == Some(&b'\n') => 2,
            b'\r' => 1,
            _ => 0,
        };
        if line_end > 0 {
            if previous_was_end {
                return Some(index + line_end);
            }
            previous_was_end = true;
            index += line_end;
        } else {
            previous_was_end = false;
            index += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::event_end;

    #[test]
    fn events_end_at_a_blank_line_whatever_the_line_ends() {
        assert_eq!(event_end(b"data:a\n\ndata:b"), Some(8));
        assert_eq!(event_end(b"data:a\r\n\r\nrest"), Some(10));
        assert_eq!(event_end(b"data:a\r\rrest"), Some(8));
        assert_eq!(event_end(b"data:a\ndata:b\n"), None);
        assert_eq!(event_end(b":keepalive\n\n"), Some(12));
    }
}
