//! The TCP echo of a listener whose port leads to an `echo` binding directly (or through
//! `tls`), as Zilla's tcp.echo and tls.echo examples use it: every byte received is sent
//! back. A connection that sends nothing for the idle timeout is closed.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read at a time.
const CHUNK: usize = 16 * 1024;

/// Echoes `stream` until the client closes it, an error, or `idle` without a byte.
pub(crate) async fn echo<S>(mut stream: S, idle: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let read = match tokio::time::timeout(idle, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(read)) => read,
        };
        if stream.write_all(&buffer[..read]).await.is_err() || stream.flush().await.is_err() {
            break;
        }
    }
    let _ = stream.shutdown().await;
}
