//! The HTTP side of the data plane, below the handler.
//!
//! - `bind`: listening sockets with a deep accept queue.
//! - `listener`: accept loops, connection limits, TLS handshakes, hyper.
//! - `head`: the first request head, read before hyper (408, framing checks, the raw
//!   answers).
//! - `stream`: the SSE fast path, an event stream written straight to its socket.
//! - `prefixed`: a socket whose first bytes were already read.
//! - `serialize`: the one HTTP/1.1 serializer for what is written without hyper.
//! - `idle`: closing connections with nothing in progress.
//! - `cors`: CORS preflights and response headers, before routing.

pub mod bind;
pub(crate) mod cors;
mod head;
pub(crate) mod idle;
pub(crate) mod listener;
mod prefixed;
mod raw_echo;
mod serialize;
mod stream;
