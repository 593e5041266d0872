//! The `rustls` configuration of a `tls` client binding in front of an upstream HTTP server:
//! trusted authorities from the vault's `trust` store and/or the system's, and the client's
//! key for mutual TLS.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use sluice_shared::table::UpstreamTls;

use super::error::{FileProblem, TlsError};
use super::store;

/// Builds the client configuration of `tls`.
pub(crate) fn client_config(tls: &UpstreamTls) -> Result<ClientConfig, TlsError> {
    let at = |field: &'static str| {
        move |problem: FileProblem| TlsError {
            binding: tls.binding.clone(),
            field,
            problem,
        }
    };
    let mut roots = RootCertStore::empty();
    if let Some((file, aliases)) = &tls.trust {
        let read = store::read(file).map_err(at("trust"))?;
        for certificate in read.trusted(aliases, file).map_err(at("trust"))? {
            roots.add(certificate).map_err(|e| {
                at("trust")(FileProblem::Store {
                    path: file.path.clone(),
                    reason: format!("a trusted certificate is not usable: {e}"),
                })
            })?;
        }
    }
    if tls.system_authorities {
        for certificate in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(certificate);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| at("trust")(FileProblem::Config(e.to_string())))?
        .with_root_certificates(roots);
    let config = match &tls.key {
        None => builder.with_no_client_auth(),
        Some((file, alias)) => {
            let read = store::read(file).map_err(at("keys"))?;
            let key = read.key(alias, file).map_err(at("keys"))?;
            builder
                .with_client_auth_cert(key.chain.clone(), key.key.clone_key())
                .map_err(|e| at("keys")(FileProblem::Config(e.to_string())))?
        }
    };
    Ok(config)
}

/// The configuration of a connector that only ever speaks plain `http://` (no TLS client
/// binding): it trusts no authority, so it can reach no `https://` server.
pub(crate) fn plain_client_config(binding: &str) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::config(binding, e.to_string()))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}
