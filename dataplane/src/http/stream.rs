//! The SSE fast path: an event stream opened by the first request of an HTTP/1.1
//! connection is written straight to the socket, so that an idle stream costs only its task.

use tokio::net::TcpStream;

use crate::proxy::sink::{Sink, SocketSink};
use crate::proxy::stream::Stream;

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
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\ntransfer-encoding: chunked\r\n\r\n");
    stream.write_all(&head).await
}
