//! TLS termination for `tls` server bindings.
//!
//! The certificate chain and key come from PEM files named in the configuration, or from a
//! vault's PKCS#12 or JKS key store by alias (Zilla's `vault` and `keys`). They are read and
//! checked on every apply (so a bad file fails the apply, and nothing changes) and again on
//! [`DataPlane::reload_certificates`](crate::DataPlane::reload_certificates) (SIGHUP). A
//! reload swaps the listener's `rustls` configuration: handshakes from then on present the
//! new certificate, connections already open keep theirs.
//!
//! TLS 1.2 and 1.3 only, `ring` as the crypto provider, ALPN as configured (`h2`,
//! `http/1.1`), the client's SNI checked against `sni`, client certificates checked against
//! the vault's `trust` store when `mutual` asks for them.
//!
//! Modules: `acceptor` (the listeners' configurations and their reload), `client` (tls client
//! bindings in front of upstream HTTP servers), `config` (one
//! binding's `rustls` configuration), `pem` (PEM files and validity), `store` (key stores),
//! `files` (TLS from PEM files named on the command line: the admin listener, the
//! follower's client), `jks` (the Java KeyStore format), `kafka` (key stores of Kafka clients' TLS), `error`. This file only declares and re-exports.

mod acceptor;
mod client;
mod config;
mod error;
mod files;
mod jks;
mod kafka;
mod pem;
mod store;

pub(crate) use acceptor::Acceptors;
pub(crate) use client::{client_config, plain_client_config};
pub use error::{TlsError, TlsErrors};
pub use files::{ClientFiles, FileAcceptor, ServerFiles, TlsFileError, file_client_config};
pub(crate) use kafka::kafka_stores;

#[cfg(test)]
mod tests;
