//! The first request head of a plaintext connection, read before hyper sees the socket:
//! Sluice answers a late head with 408, refuses ambiguous framing and bare LFs, and finds
//! the HTTP/1.1 event-stream requests that the SSE fast path serves without hyper. The raw
//! answers written here are the only ones not built by `response`.

use std::time::Duration;

use sluice_shared::table::HttpLimits;
use tokio::net::TcpStream;

/// The answer to a client whose first request head is not complete in time.
pub(super) const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 78\r\n\r\n{\"code\":\"request_timeout\",\"message\":\"the request head did not arrive in time\"}";
/// The answer to a connection over the listener's limit.
pub(super) const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 2\r\ncontent-length: 0\r\n\r\n";

/// The answer to a first request with both `content-length` and `transfer-encoding`.
pub(super) const AMBIGUOUS_LENGTH: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"code\":\"bad_request\",\"message\":\"a request must not have both content-length and transfer-encoding\"}";

/// The answer to a request line or header line that ends in a bare LF.
pub(super) const BARE_LF: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 81\r\n\r\n{\"code\":\"bad_request\",\"message\":\"request lines must end in CR LF, not a bare LF\"}";
/// The answer to a request line longer than the head limit.
pub(super) const URI_TOO_LONG: &[u8] = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 84\r\n\r\n{\"code\":\"uri_too_long\",\"message\":\"the request target is longer than the head limit\"}";

/// What the first bytes of a connection are.
pub(super) enum FirstHead {
    /// A line of the head ends in a bare LF.
    BareLf,
    /// The request line alone is over the head limit.
    UriTooLong,
    /// The head did not arrive in time.
    Late {
        /// The client started the HTTP/2 preface.
        h2: bool,
    },
    /// The client closed (or the socket failed) before sending a head.
    Closed,
    /// An HTTP/1.1 head with both `content-length` and `transfer-encoding`.
    Ambiguous,
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
                return FirstHead::Late {
                    h2: buffer.starts_with(&PREFACE[..buffer.len().min(PREFACE.len())])
                        && !buffer.is_empty(),
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
            return FirstHead::BareLf;
        }
        if buffer.len() > max {
            if !buffer.windows(2).any(|w| w == b"\r\n") {
                return FirstHead::UriTooLong;
            }
            return FirstHead::Other(buffer); // hyper answers 431
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
        return FirstHead::Ambiguous;
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
    fn raw_answers_declare_their_body_length() {
        for answer in [
            REQUEST_TIMEOUT,
            TOO_MANY_CONNECTIONS,
            AMBIGUOUS_LENGTH,
            BARE_LF,
            URI_TOO_LONG,
        ] {
            let text = std::str::from_utf8(answer).expect("ascii");
            let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
            let declared: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|n| n.parse().ok())
                .expect("content-length");
            assert_eq!(declared, body.len(), "{head}");
        }
    }
}
