//! Why a tls binding's certificate, key or key store cannot be served.

/// Why a tls binding's certificate or key cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tls binding '{binding}' (/bindings/{binding}/options/{field}): {problem}")]
pub struct TlsError {
    pub(super) binding: String,
    pub(super) field: &'static str,
    pub(super) problem: FileProblem,
}

impl TlsError {
    /// What is wrong, without the binding's pointer (for exporters, which are not bindings).
    pub(crate) fn reason(&self) -> String {
        format!("{} ({})", self.problem, self.field)
    }

    /// A TLS configuration `rustls` refused, for binding `binding`.
    pub(crate) fn config(binding: &str, reason: String) -> Self {
        Self {
            binding: binding.to_owned(),
            field: "alpn",
            problem: FileProblem::Config(reason),
        }
    }
}

/// Every listener whose files did not load on a reload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct TlsErrors(pub(super) Vec<TlsError>);

/// What is wrong with a certificate or key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FileProblem {
    #[error("cannot read '{path}': {reason}")]
    Unreadable { path: String, reason: String },
    #[error("'{path}' is not a PEM certificate file: {reason}")]
    NotCertificate { path: String, reason: String },
    #[error("'{path}' holds no CERTIFICATE block")]
    NoCertificate { path: String },
    #[error("'{path}' holds no unencrypted private key (a PKCS#8, PKCS#1 or SEC1 PEM block)")]
    NoKey { path: String },
    #[error("'{path}' is not a PEM private key file: {reason}")]
    NotKey { path: String, reason: String },
    #[error("'{path}' {reason}")]
    Invalid { path: String, reason: Validity },
    #[error("the key in '{key}' does not belong to the certificate in '{certificate}'")]
    KeyMismatch { key: String, certificate: String },
    #[error("'{path}': {reason}")]
    Refused { path: String, reason: String },
    #[error("{0}")]
    Config(String),
    #[error("key store '{path}' cannot be read: {reason}")]
    Store { path: String, reason: String },
    #[error("key store '{path}' has no key with alias '{alias}' (it holds: {held})")]
    NoAlias {
        path: String,
        alias: String,
        held: String,
    },
    #[error("key store '{path}' has no trusted certificate{wanted} (it holds: {held})")]
    NoTrust {
        path: String,
        wanted: String,
        held: String,
    },
}

/// Why a certificate is not valid now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Validity {
    #[error("holds a certificate that cannot be parsed: {0}")]
    Unparsable(String),
    #[error("holds a certificate that expired on {0}")]
    Expired(String),
    #[error("holds a certificate that is not valid before {0}")]
    NotYetValid(String),
}
