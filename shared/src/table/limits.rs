//! The limits of an `http` server binding, with their defaults.

/// Default largest request body.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Default largest request head.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 16 * 1024;

/// Default time to receive a request head.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;

/// Default concurrent HTTP/2 streams per connection.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;

/// Default open connections per listener.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;

/// Default HTTP/2 resets tolerated per connection (rapid reset).
pub const DEFAULT_MAX_RESET_STREAMS: u64 = 20;

/// Default idle timeout of a connection with nothing in progress (NGINX keeps idle
/// keep-alive connections 75 s, Envoy's HTTP/2 connections have no stream timeouts of 5 min).
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 60_000;

/// Default time a request body may go without a byte (NGINX `client_body_timeout`: 60 s).
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 30_000;

/// Limits applied to every request of an `http` binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body, bytes.
    pub max_body_bytes: u64,
    /// Largest request head, bytes.
    pub max_header_bytes: u64,
    /// Time to receive a request head, milliseconds.
    pub header_read_timeout_ms: u64,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Open connections per listener.
    pub max_connections: u64,
    /// HTTP/2 streams reset early per connection before GOAWAY.
    pub max_reset_streams: u64,
    /// Time a connection with nothing in progress stays open, milliseconds.
    pub idle_timeout_ms: u64,
    /// Time a request body may go without a byte, milliseconds.
    pub body_read_timeout_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_reset_streams: DEFAULT_MAX_RESET_STREAMS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            body_read_timeout_ms: DEFAULT_BODY_READ_TIMEOUT_MS,
        }
    }
}
