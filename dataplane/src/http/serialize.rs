//! The one HTTP/1.1 serializer for what Sluice writes without hyper: the head of an event
//! stream on the fast path, and whole answers (the fast path's refusals, and the raw
//! answers to a first head that hyper never sees). Every answer is built by
//! `response::error` from an `ErrorCode`, like every other error.

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::response::Body;

/// How a response written without hyper delimits its body.
enum Framing {
    Chunked,
    Length(usize),
}

/// The head of an event stream: `200 OK`, `headers`, `date`, chunked.
pub(super) fn stream_head(headers: &http::HeaderMap) -> Vec<u8> {
    head(StatusCode::OK, headers, Framing::Chunked)
}

/// A whole response with a complete body (`Body::Full` or empty).
pub(super) fn response_bytes(response: Response<Body>) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Full(Some(bytes)) => bytes,
        _ => Bytes::new(),
    };
    let mut out = head(parts.status, &parts.headers, Framing::Length(body.len()));
    out.extend_from_slice(&body);
    out
}

/// Status line, headers, `date`, framing.
fn head(status: StatusCode, headers: &http::HeaderMap, framing: Framing) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\n");
    match framing {
        Framing::Chunked => head.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n"),
        Framing::Length(length) => {
            head.extend_from_slice(format!("content-length: {length}\r\n\r\n").as_bytes());
        }
    }
    head
}
