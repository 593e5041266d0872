//! Listening sockets with an accept queue deep enough for a burst of new connections.
//!
//! The standard `TcpListener::bind` asks for a queue of 1,024. A gateway meets bursts
//! larger than that (every client of a deployment reconnecting at once, 1,000 long-polls
//! opened together), and a connection the kernel cannot queue loses its handshake and
//! retries one to three seconds later. Sluice asks for 4,096; the kernel caps it at
//! `net.core.somaxconn`.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, ToSocketAddrs};

/// The accept queue asked for.
pub const BACKLOG: u32 = 4096;

/// Listens on the first address `addr` resolves to that can be bound.
pub async fn listen(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        match listen_on(addr) {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

fn listen_on(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As the standard bind does: a restarted process gets its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listens_with_the_deep_queue() {
        let listener = listen("127.0.0.1:0").await.expect("listen");
        let addr = listener.local_addr().expect("addr");
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (accepted, from) = listener.accept().await.expect("accept");
        assert_eq!(from, client.local_addr().expect("client addr"));
        drop(accepted);
        let error = listen("no-such-host.invalid:80")
            .await
            .expect_err("unresolvable");
        assert!(!error.to_string().is_empty());
    }
}
