//! `http` client bindings: the upstream HTTP servers an `http` server's routes proxy to
//! (Zilla's http.proxy), through an optional `tls` client and a `tcp` client.

pub use super::client_tls::UpstreamTls;

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
