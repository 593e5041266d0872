//! What Sluice as an HTTP client sends and trusts, shared by the places that call out: OTLP
//! exporters and schema registry catalogs.

use serde::{Deserialize, Serialize};

/// `credentials`: headers sent with every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsSpec {
    /// Headers.
    pub headers: CredentialHeadersSpec,
}

/// The headers of `credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialHeadersSpec {
    /// The `authorization` header (for example `Basic ...`); a secret: the admin API shows it
    /// as `***`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
}

/// `tls` to an `https://` server, with aliases in the vault of the element that has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsSpec {
    /// The client key for mutual TLS, by alias in the vault's `keys` store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// Trusted authorities, by alias in the vault's `trust` store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Vec<String>>,
    /// Also trust the system's authorities (default: when no `trust` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustcacerts: Option<bool>,
}
