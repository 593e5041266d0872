//! Where an SSE stream's bytes go.
//!
//! - [`Sink::Channel`]: a bounded channel read by hyper's response body (HTTP/2, and
//!   HTTP/1.1 streams that are not the first request of their connection).
//! - [`Sink::Socket`]: the connection itself, written with chunked encoding, once the
//!   response head is out (an HTTP/1.1 connection whose first request opens a stream; see
//!   `server.rs`). The stream's task is then the connection's only task and hyper keeps no
//!   buffers for it: the point is memory per idle stream.
//!
//! Both are bounded: a client that does not read is dropped once 16 chunks (channel) or
//! [`SOCKET_PENDING_LIMIT`] bytes (socket) wait for it.

use std::io::ErrorKind;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::response::Aborted;

/// Bytes written to a socket sink that the client has not read yet, at most.
pub(crate) const SOCKET_PENDING_LIMIT: usize = 256 * 1024;
/// Bytes a client may send on a streaming connection before it is closed.
const INBOUND_LIMIT: usize = 64 * 1024;

/// Why a stream cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// The client went away.
    Closed,
    /// The client does not read fast enough.
    Slow,
}

/// Where a stream writes.
pub(crate) enum Sink {
    /// To hyper's response body.
    Channel(mpsc::Sender<Result<Bytes, Aborted>>),
    /// To the socket, chunked.
    Socket(SocketSink),
}

impl Sink {
    /// Queues `chunk` without waiting.
    pub(crate) fn send(&mut self, chunk: Bytes) -> Result<(), Gone> {
        match self {
            Self::Channel(sender) => sender.try_send(Ok(chunk)).map_err(|error| match error {
                TrySendError::Closed(_) => Gone::Closed,
                TrySendError::Full(_) => Gone::Slow,
            }),
            Self::Socket(socket) => socket.send(&chunk),
        }
    }

    /// Cuts the stream: `RST_STREAM` on HTTP/2, a closed connection on HTTP/1.1.
    pub(crate) fn abort(self, why: &'static str) {
        match self {
            Self::Channel(sender) => {
                let _ = sender.try_send(Err(Aborted(why)));
            }
            // Dropping the socket without the last chunk tells the client it was cut.
            Self::Socket(socket) => drop(socket),
        }
    }

    /// Ends the stream cleanly.
    pub(crate) fn finish(self) {
        if let Self::Socket(mut socket) = self {
            let _ = socket.write_raw(b"0\r\n\r\n");
        }
    }

    /// Resolves when the client is gone; meanwhile writes what is pending. Cancel-safe.
    pub(crate) async fn gone(&mut self) -> Gone {
        match self {
            Self::Channel(sender) => {
                sender.closed().await;
                Gone::Closed
            }
            Self::Socket(socket) => socket.gone().await,
        }
    }
}

/// `{length in hex}\r\n`, in `buffer`.
fn chunk_header(length: usize, buffer: &mut [u8; 20]) -> &[u8] {
    let digits = (usize::BITS - length.leading_zeros()).div_ceil(4).max(1) as usize;
    for (index, digit) in buffer.iter_mut().take(digits).enumerate() {
        let nibble = (length >> (4 * (digits - 1 - index))) & 0xf;
        *digit = b"0123456789abcdef"[nibble];
    }
    buffer[digits] = b'\r';
    buffer[digits + 1] = b'\n';
    &buffer[..digits + 2]
}

/// A connection written directly.
pub(crate) struct SocketSink {
    socket: TcpStream,
    pending: Vec<u8>,
    inbound: usize,
}

impl SocketSink {
    /// Wraps a connection whose response head is already written.
    pub(crate) fn new(socket: TcpStream) -> Self {
        Self {
            socket,
            pending: Vec::new(),
            inbound: 0,
        }
    }

    fn send(&mut self, data: &[u8]) -> Result<(), Gone> {
        if data.is_empty() {
            return Ok(());
        }
        let mut header = [0u8; 20];
        let header = chunk_header(data.len(), &mut header);
        let parts: [&[u8]; 3] = [header, data, b"\r\n"];
        if self.pending.is_empty() {
            // Usually the whole chunk goes out in one call and nothing is copied.
            let mut written = self.try_write_parts(&parts)?;
            for part in parts {
                let skip = written.min(part.len());
                written -= skip;
                self.pending.extend_from_slice(&part[skip..]);
            }
        } else {
            for part in parts {
                self.pending.extend_from_slice(part);
            }
            self.flush()?;
        }
        if self.pending.len() > SOCKET_PENDING_LIMIT {
            return Err(Gone::Slow);
        }
        Ok(())
    }

    fn try_write_parts(&self, parts: &[&[u8]; 3]) -> Result<usize, Gone> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut written = 0;
        while written < total {
            let mut skip = written;
            let mut slices = [std::io::IoSlice::new(&[]); 3];
            let mut count = 0;
            for part in parts {
                if skip >= part.len() {
                    skip -= part.len();
                } else {
                    slices[count] = std::io::IoSlice::new(&part[skip..]);
                    skip = 0;
                    count += 1;
                }
            }
            match self.socket.try_write_vectored(&slices[..count]) {
                Ok(0) => return Err(Gone::Closed),
                Ok(n) => written += n,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return Err(Gone::Closed),
            }
        }
        Ok(written)
    }

    /// Writes `bytes` after what is pending, as far as the socket takes them now.
    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        if self.pending.is_empty() {
            let written = self.try_write(bytes)?;
            self.pending.extend_from_slice(&bytes[written..]);
        } else {
            self.pending.extend_from_slice(bytes);
            self.flush()?;
        }
        Ok(())
    }

    fn try_write(&self, bytes: &[u8]) -> Result<usize, Gone> {
        let mut written = 0;
        while written < bytes.len() {
            match self.socket.try_write(&bytes[written..]) {
                Ok(0) => return Err(Gone::Closed),
                Ok(n) => written += n,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return Err(Gone::Closed),
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> Result<(), Gone> {
        let written = self.try_write(&self.pending)?;
        self.pending.drain(..written);
        if self.pending.is_empty() && self.pending.capacity() > 16 * 1024 {
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// Reads and discards what the client sends; `Err` once it closed or sent too much.
    fn drain_inbound(&mut self) -> Result<(), Gone> {
        let mut buffer = [0u8; 512];
        loop {
            match self.socket.try_read(&mut buffer) {
                Ok(0) => return Err(Gone::Closed),
                Ok(n) => {
                    self.inbound += n;
                    if self.inbound > INBOUND_LIMIT {
                        return Err(Gone::Closed);
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(Gone::Closed),
            }
        }
    }

    async fn gone(&mut self) -> Gone {
        loop {
            let result = if self.pending.is_empty() {
                match self.socket.readable().await {
                    Ok(()) => self.drain_inbound(),
                    Err(_) => Err(Gone::Closed),
                }
            } else {
                tokio::select! {
                    ready = self.socket.writable() => match ready {
                        Ok(()) => self.flush(),
                        Err(_) => Err(Gone::Closed),
                    },
                    ready = self.socket.readable() => match ready {
                        Ok(()) => self.drain_inbound(),
                        Err(_) => Err(Gone::Closed),
                    },
                }
            };
            if let Err(gone) = result {
                return gone;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_headers_are_lowercase_hex() {
        let mut buffer = [0u8; 20];
        for (length, expected) in [
            (1, "1\r\n"),
            (15, "f\r\n"),
            (16, "10\r\n"),
            (65535, "ffff\r\n"),
            (65536, "10000\r\n"),
        ] {
            assert_eq!(chunk_header(length, &mut buffer), expected.as_bytes());
        }
    }
}
