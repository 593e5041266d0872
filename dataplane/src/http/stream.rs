//! The SSE fast path: an event stream opened by the first request of an HTTP/1.1
//! connection is written straight to the socket, so that an idle stream costs only its task.

use bytes::Bytes;
use http::{Response, StatusCode};
use tokio::net::TcpStream;

use crate::proxy::sink::{Sink, SocketSink};
use crate::proxy::stream::Stream;
use crate::response::Body;

/// Serves an event stream on a connection hyper never saw.
pub(super) async fn serve_stream(mut socket: TcpStream, headers: http::HeaderMap, stream: Stream) {
    if write_stream_head(&mut socket, &headers).await.is_ok() {
        drop(headers);
        stream.run(Sink::Socket(SocketSink::new(socket))).await;
    }
}

/// Writes the response head of an event stream served without hyper.
async fn write_stream_head(
    stream: &mut TcpStream,
    headers: &http::HeaderMap,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let head = serialize_head(StatusCode::OK, headers, Framing::Chunked);
    stream.write_all(&head).await
}

/// Writes a whole response (an answer of the fast path, such as a 401) on a socket hyper
/// never saw; the connection stays open for the requests that follow.
pub(super) async fn write_response(
    stream: &TcpStream,
    response: Response<Body>,
) -> std::io::Result<()> {
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Full(Some(bytes)) => bytes,
        _ => Bytes::new(),
    };
    let mut out = serialize_head(parts.status, &parts.headers, Framing::Length(body.len()));
    out.extend_from_slice(&body);
    let mut written = 0;
    while written < out.len() {
        stream.writable().await?;
        match stream.try_write(&out[written..]) {
            Ok(n) => written += n,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// How a response served without hyper delimits its body.
enum Framing {
    Chunked,
    Length(usize),
}

/// The one HTTP/1.1 head serializer of the fast path: status line, headers, `date`, framing.
fn serialize_head(status: StatusCode, headers: &http::HeaderMap, framing: Framing) -> Vec<u8> {
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
