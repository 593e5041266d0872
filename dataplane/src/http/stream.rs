//! The SSE fast path: an event stream opened by the first request of an HTTP/1.1
//! connection is written straight to the socket, so that an idle stream costs only its task.

use http::Response;
use tokio::net::TcpStream;

use super::serialize::{response_bytes, stream_head};
use crate::proxy::sink::{Sink, SocketSink};
use crate::proxy::stream::Stream;
use crate::response::Body;

/// Serves an event stream on a connection hyper never saw, in a task of its own: this
/// future (with `kept`, what counts the connection) is all an idle stream costs.
pub(super) async fn serve_stream<K: Send>(
    mut socket: TcpStream,
    headers: http::HeaderMap,
    stream: Stream,
    kept: K,
) {
    let _kept = kept;
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
    stream.write_all(&stream_head(headers)).await
}

/// Writes a whole response (an answer of the fast path, such as a 401) on a socket hyper
/// never saw; the connection stays open for the requests that follow.
pub(super) async fn write_response(
    stream: &TcpStream,
    response: Response<Body>,
) -> std::io::Result<()> {
    let out = response_bytes(response);
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
