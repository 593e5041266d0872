//! TLS settings of Sluice as a client: to upstream HTTP servers, schema registries and OTLP
//! collectors.

use super::store::StoreFile;

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
