//! The first request head of a plaintext connection, read before hyper sees the socket:
//! Sluice answers a late head with 408, refuses ambiguous framing and bare LFs, and finds
//! the HTTP/1.1 event-stream requests that the SSE fast path serves without hyper. Its
//! answers are built from `ErrorCode`s like every other error, and serialized by
//! `serialize`.

use std::time::Duration;

use sluice_shared::table::HttpLimits;
use tokio::net::TcpStream;

use super::serialize::response_bytes;
use crate::error::DataPlaneError;
use crate::response;

/// The answer to `failure` as bytes, written on a socket hyper never saw: built by
/// `response::error` from its `ErrorCode`, like every other error answer.
pub(super) fn raw_answer(failure: &DataPlaneError) -> Vec<u8> {
    response_bytes(response::error(failure))
}

/// What the first bytes of a connection are.
pub(super) enum FirstHead {
    /// Refused before any routing: a late head (408), a bare LF or ambiguous framing (400),
    /// a request line or head over the limit (414, 431). The connection closes after the
    /// answer.
    Refused(DataPlaneError),
    /// An HTTP/2 preface that did not complete in time: closed without an answer (an
    /// HTTP/1.1 answer would mean nothing to the client).
    LatePreface,
    /// The client closed (or the socket failed) before sending a head.
    Closed,
    /// An HTTP/1.1 `GET` asking for `text/event-stream`, every byte read, and where the
    /// head ends in them.
    EventStream(Box<http::request::Parts>, Vec<u8>, usize),
    /// Anything else (HTTP/2, other requests, heads over the limit), for hyper.
    Other(Vec<u8>),
}

/// Reads the connection's first request head (or HTTP/2 preface), within the header-read
/// timeout: Sluice answers a late first head with 408, refuses ambiguous framing, and serves
/// an event stream opened by the first request without hyper.
pub(super) async fn first_head(stream: &TcpStream, limits: &HttpLimits) -> FirstHead {
    const PREFACE: &[u8] = b"PRI ";
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(limits.header_read_timeout_ms);
    let max = usize::try_from(limits.max_header_bytes.max(8192)).unwrap_or(8192);
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Err(_) => {
                let h2 = buffer.starts_with(&PREFACE[..buffer.len().min(PREFACE.len())])
                    && !buffer.is_empty();
                return if h2 {
                    FirstHead::LatePreface
                } else {
                    FirstHead::Refused(DataPlaneError::HeadTimeout)
                };
            }
            Ok(Err(_)) => return FirstHead::Closed,
            Ok(Ok(())) => {}
        }
        buffer.reserve(1024);
        match stream.try_read_buf(&mut buffer) {
            Ok(0) if buffer.is_empty() => return FirstHead::Closed,
            Ok(0) => return FirstHead::Other(buffer),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return FirstHead::Closed,
        }
        // HTTP/2 with prior knowledge: the whole preface must arrive within the time
        // allowed for a head, or the connection is closed (a client that sends "PRI " and
        // stops holds no slot).
        if buffer.starts_with(PREFACE) {
            if buffer.len() >= H2_PREFACE.len() {
                if buffer.starts_with(H2_PREFACE) {
                    return FirstHead::Other(buffer);
                }
            } else if H2_PREFACE.starts_with(&buffer) {
                continue;
            }
        }
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return classify(buffer, end + 4);
        }
        if buffer
            .iter()
            .enumerate()
            .any(|(at, byte)| *byte == b'\n' && (at == 0 || buffer[at - 1] != b'\r'))
        {
            return FirstHead::Refused(DataPlaneError::BareLineFeed);
        }
        if buffer.len() > max {
            if !buffer.windows(2).any(|w| w == b"\r\n") {
                return FirstHead::Refused(DataPlaneError::UriTooLong);
            }
            return FirstHead::Refused(DataPlaneError::HeadersTooLarge {
                limit: limits.max_header_bytes,
            });
        }
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

fn classify(buffer: Vec<u8>, end: usize) -> FirstHead {
    let head = &buffer[..end];
    let framing = contains_ignore_case(head, b"transfer-encoding");
    let wants_stream = contains_ignore_case(head, b"text/event-stream");
    if !framing && !wants_stream {
        return FirstHead::Other(buffer);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(request.parse(head), Ok(httparse::Status::Complete(_))) {
        return FirstHead::Other(buffer);
    }
    let has = |name: &str| {
        request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    };
    if has("transfer-encoding") && has("content-length") {
        return FirstHead::Refused(DataPlaneError::AmbiguousLength);
    }
    if !wants_stream
        || request.method != Some("GET")
        || request.version != Some(1)
        || has("transfer-encoding")
        || has("upgrade")
        || request
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
    {
        return FirstHead::Other(buffer);
    }
    let mut builder = http::Request::builder()
        .method(http::Method::GET)
        .uri(request.path.unwrap_or("/"))
        .version(http::Version::HTTP_11);
    for header in request.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    match builder.body(()) {
        Ok(request) => FirstHead::EventStream(Box::new(request.into_parts().0), buffer, end),
        Err(_) => FirstHead::Other(buffer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_answers_have_their_code_status_and_body_length() {
        for (failure, status, code) in [
            (DataPlaneError::HeadTimeout, "408", "request_timeout"),
            (DataPlaneError::TooManyConnections, "503", "overloaded"),
            (DataPlaneError::AmbiguousLength, "400", "bad_request"),
            (DataPlaneError::BareLineFeed, "400", "bad_request"),
            (DataPlaneError::UriTooLong, "414", "uri_too_long"),
            (
                DataPlaneError::HeadersTooLarge { limit: 8192 },
                "431",
                "headers_too_large",
            ),
        ] {
            let answer = raw_answer(&failure);
            let text = std::str::from_utf8(&answer).expect("ascii");
            let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(head.contains("connection: close"), "{head}");
            let declared: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|n| n.parse().ok())
                .expect("content-length");
            assert_eq!(declared, body.len(), "{head}");
            let json: serde_json::Value = serde_json::from_str(body).expect("json");
            assert_eq!(json["code"], code, "{body}");
        }
    }
}
