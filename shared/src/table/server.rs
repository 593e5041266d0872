//! Listeners and the servers behind them: tcp listeners, TLS termination, `http` and `sse`
//! servers with their CORS policy, limits and routes to the bindings they exit to.

use super::limits::HttpLimits;
pub use super::store::{StoreFile, StoreFormat};
use crate::guard::Authorization;
use crate::path::PathTemplate;

/// One TCP port to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The `tcp` binding that declared it.
    pub binding: String,
    /// Address to bind.
    pub host: String,
    /// Port to bind; `0` asks the system for a free port (tests).
    pub port: u16,
    /// The `http` server; `None` when the port leads to an `echo` binding, which echoes
    /// the bytes of the connection (TCP level, as Zilla's tcp.echo and tls.echo).
    pub(crate) server: Option<usize>,
    /// TLS termination, when the tcp binding exits to a `tls` binding.
    pub tls: Option<TlsListener>,
}

/// The settings of a `tls` server binding, as configured: the data plane reads the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsListener {
    /// The `tls` binding.
    pub binding: String,
    /// Where the certificate chain and key come from.
    pub identity: TlsIdentity,
    /// ALPN protocols offered, in preference order (`h2`, `http/1.1`).
    pub alpn: Vec<String>,
    /// Server names accepted in the client's SNI; empty for any.
    pub sni: Vec<String>,
    /// Client certificates asked for, and who signs them.
    pub clients: Option<ClientTrust>,
}

/// Where a `tls` server's certificate chain and key come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsIdentity {
    /// PEM files (Sluice's `certificate` and `key`).
    Pem {
        /// PEM file with the certificate chain, leaf first.
        certificate: String,
        /// PEM file with the private key.
        key: String,
    },
    /// Keys of a vault's `keys` store, by alias (Zilla's `keys`); with several, the one
    /// whose certificate names the client's SNI is served.
    Store {
        /// The store.
        store: StoreFile,
        /// The aliases.
        aliases: Vec<String>,
    },
}

/// Client certificates a `tls` server asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTrust {
    /// The store holding the authorities that sign client certificates.
    pub store: StoreFile,
    /// Their aliases; empty for every certificate of the store.
    pub aliases: Vec<String>,
    /// Whether a client without a certificate is refused (`mutual: required`).
    pub required: bool,
}

/// An `http` server binding.
#[derive(Debug)]
pub struct HttpServer {
    /// Binding name.
    pub binding: String,
    /// HTTP/1.1 enabled.
    pub http1: bool,
    /// HTTP/2 (h2c prior knowledge on plaintext) enabled.
    pub h2: bool,
    /// Request limits.
    pub limits: HttpLimits,
    /// Where requests carry credentials, and for which guard.
    pub authorization: Option<Authorization>,
    /// The CORS policy (`access-control`); `None` is same-origin.
    pub cors: Option<Cors>,
    /// Models of requests (`options.requests`), first match applies.
    pub requests: Vec<super::models::RequestModels>,
    pub(crate) routes: Vec<HttpRoute>,
    pub(crate) exit: Option<Exit>,
}

/// A compiled CORS policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// `cross-origin`: requests from other origins are allowed as below.
    pub cross_origin: bool,
    /// Allowed origins, normalised (`scheme://host:port`); `None` allows any.
    pub origins: Option<Vec<String>>,
    /// Allowed methods, uppercase; `None` allows any.
    pub methods: Option<Vec<String>>,
    /// Allowed request headers, lowercase; `None` allows any.
    pub headers: Option<Vec<String>>,
    /// Credentials allowed.
    pub credentials: bool,
    /// Preflight cache time, seconds.
    pub max_age: Option<u64>,
    /// Response headers exposed to scripts, lowercase; `None` exposes every one.
    pub expose: Option<Vec<String>>,
}

/// `scheme://host:port` with the scheme and host lowercase and the default port made
/// explicit, or `None` when `origin` is not a `http(s)://host[:port]` origin.
pub fn normalize_origin(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (inside, after) = bracketed.split_once(']')?;
        let port = match after {
            "" => default_port,
            _ => after.strip_prefix(':')?.parse::<u16>().ok()?,
        };
        (&rest[..inside.len() + 2], port)
    } else {
        match rest.split_once(':') {
            None => (rest, default_port),
            Some((host, port)) => (host, port.parse::<u16>().ok()?),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{}:{port}", host.to_ascii_lowercase()))
}

#[derive(Debug)]
pub(crate) struct HttpRoute {
    /// Any-of list; each entry is an all-of list of (header name, pattern).
    pub(crate) when: Vec<Vec<(String, String)>>,
    pub(crate) guarded: Guarded,
    pub(crate) exit: Exit,
}

/// Guards a route requires: guard index and the roles it must grant.
pub type Guarded = Vec<(usize, Vec<String>)>;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Exit {
    HttpKafka(usize),
    Echo,
    Sse(usize),
    Files(usize),
    Upstream(usize),
}

/// An `sse` server binding.
#[derive(Debug)]
pub struct SseServer {
    /// Binding name.
    pub binding: String,
    /// `retry:` sent at the start of every stream, milliseconds.
    pub retry_ms: u64,
    /// Seconds between keep-alive comments; 0 for none.
    pub keepalive_seconds: u64,
    pub(crate) routes: Vec<SseServerRoute>,
    pub(crate) exit: Option<SseExit>,
}

/// Where an `sse` server's route leads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SseExit {
    /// An `sse-kafka` binding, by index.
    Kafka(usize),
    /// An `sse` client to an upstream event stream: the upstream's index.
    Upstream(usize),
}

/// A route of an `sse` server: paths, guards, and the `sse-kafka` binding it exits to.
#[derive(Debug)]
pub(crate) struct SseServerRoute {
    pub(crate) when: Vec<PathTemplate>,
    pub(crate) guarded: Guarded,
    pub(crate) exit: SseExit,
}

#[derive(Debug)]
pub(crate) struct RequestCondition {
    pub(crate) method: Option<String>,
    pub(crate) path: Option<PathTemplate>,
}
