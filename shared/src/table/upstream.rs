//! `http` client bindings: the upstream HTTP servers an `http` server's routes proxy to
//! (Zilla's http.proxy), through an optional `tls` client and a `tcp` client.

use super::server::StoreFile;

/// An upstream HTTP server.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The `http` client binding.
    pub binding: String,
    /// Host of the `tcp` client.
    pub host: String,
    /// Port of the `tcp` client.
    pub port: u16,
    /// HTTP/1.1 enabled (`versions`).
    pub http1: bool,
    /// HTTP/2 enabled (`versions`).
    pub h2: bool,
    /// TLS to the upstream, from a `tls` client binding.
    pub tls: Option<UpstreamTls>,
    /// Models of the upstream's responses, by request path and method (`options.requests`).
    pub requests: Vec<super::models::RequestModels>,
}

/// TLS to an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// The `tls` client binding.
    pub binding: String,
    /// Trusted authorities from the vault's `trust` store, by alias.
    pub trust: Option<(StoreFile, Vec<String>)>,
    /// Also trust the system's authorities.
    pub system_authorities: bool,
    /// The client's key for mutual TLS, by alias in the vault's `keys` store.
    pub key: Option<(StoreFile, String)>,
    /// The server name sent and verified; the host when absent.
    pub sni: Option<String>,
    /// ALPN protocols offered; from the http versions when absent.
    pub alpn: Vec<String>,
}
