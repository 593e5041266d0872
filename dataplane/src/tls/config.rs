//! The `rustls` configuration of one `tls` server binding: its keys (PEM files or aliases
//! in a key store), ALPN, the server names it accepts, and client certificates.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use sluice_shared::table::{ClientTrust, TlsIdentity, TlsListener};
use x509_cert::der::Decode;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::error::{FileProblem, TlsError};
use super::pem::{check_validity, read_chain, read_key};
use super::store;

/// A `rustls` configuration and its certificate's expiry (Unix seconds).
pub(super) type Loaded = (Arc<ServerConfig>, u64);

/// A certificate and key to serve, with the DNS names its certificate holds.
#[derive(Debug)]
pub(super) struct Served {
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

/// Builds the `rustls` configuration of one `tls` binding from its files.
pub(crate) fn server_config(settings: &TlsListener) -> Result<Loaded, TlsError> {
    let at = |field: &'static str| {
        move |problem: FileProblem| TlsError {
            binding: settings.binding.clone(),
            field,
            problem,
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (served, not_after) = served(settings, &provider)?;
    let refused = |error: rustls::Error| FileProblem::Config(error.to_string());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| at("keys")(refused(e)))?;
    let builder = match &settings.clients {
        None => builder.with_no_client_auth(),
        Some(trust) => builder
            .with_client_cert_verifier(client_verifier(trust, provider).map_err(at("trust"))?),
    };
    let mut config = builder.with_cert_resolver(Arc::new(Resolver {
        served,
        sni: settings
            .sni
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
    }));
    config.alpn_protocols = settings
        .alpn
        .iter()
        .map(|protocol| protocol.as_bytes().to_vec())
        .collect();
    Ok((Arc::new(config), not_after))
}

/// The keys a binding serves, and the earliest expiry of their certificates.
fn served(
    settings: &TlsListener,
    provider: &Arc<CryptoProvider>,
) -> Result<(Vec<Served>, u64), TlsError> {
    let at = |field: &'static str| {
        move |problem: FileProblem| TlsError {
            binding: settings.binding.clone(),
            field,
            problem,
        }
    };
    Ok(match &settings.identity {
        TlsIdentity::Pem { certificate, key } => {
            let chain = read_chain(certificate).map_err(at("certificate"))?;
            let key_der = read_key(key).map_err(at("key"))?;
            let paths = (certificate.as_str(), key.as_str());
            let (served, not_after) =
                certified(chain, key_der, paths, provider).map_err(|problem| {
                    let field = match problem {
                        FileProblem::Invalid { .. } | FileProblem::NoCertificate { .. } => {
                            "certificate"
                        }
                        _ => "key",
                    };
                    at(field)(problem)
                })?;
            (vec![served], not_after)
        }
        TlsIdentity::Store {
            store: file,
            aliases,
        } => {
            let store = store::read(file).map_err(at("keys"))?;
            let mut served = Vec::new();
            let mut earliest = u64::MAX;
            for alias in aliases {
                let entry = store.key(alias, file).map_err(at("keys"))?;
                let paths = (file.path.as_str(), file.path.as_str());
                let (one, not_after) =
                    certified(entry.chain.clone(), entry.key.clone_key(), paths, provider)
                        .map_err(at("keys"))?;
                served.push(one);
                earliest = earliest.min(not_after);
            }
            (served, earliest)
        }
    })
}

/// Checks a chain and key (the key is one rustls can sign with, it belongs to the leaf, the
/// leaf is valid now) and returns them ready to serve, with the leaf's expiry.
pub(super) fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    (certificate_path, key_path): (&str, &str),
    provider: &Arc<CryptoProvider>,
) -> Result<(Served, u64), FileProblem> {
    let leaf = chain.first().ok_or_else(|| FileProblem::NoCertificate {
        path: certificate_path.to_owned(),
    })?;
    let not_after =
        check_validity(leaf, SystemTime::now()).map_err(|reason| FileProblem::Invalid {
            path: certificate_path.to_owned(),
            reason,
        })?;
    let names = dns_names(leaf);
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| FileProblem::Refused {
            path: key_path.to_owned(),
            reason: error.to_string(),
        })?;
    // The key must belong to the leaf. Compared here rather than by rustls, whose check
    // parses the leaf with webpki and so refuses X.509 v1 certificates, which test
    // authorities (Zilla's examples among them) still issue and clients accept.
    if let (Some(public), Some(certified)) = (signing.public_key(), leaf_public_key(leaf))
        && public.as_ref() != certified.as_slice()
    {
        return Err(FileProblem::KeyMismatch {
            key: key_path.to_owned(),
            certificate: certificate_path.to_owned(),
        });
    }
    let key = CertifiedKey::new(chain, signing);
    let not_after = not_after
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok((
        Served {
            names,
            key: Arc::new(key),
        },
        not_after,
    ))
}

/// The DER `SubjectPublicKeyInfo` of a certificate.
fn leaf_public_key(leaf: &CertificateDer<'_>) -> Option<Vec<u8>> {
    use x509_cert::der::Encode;
    let certificate = x509_cert::Certificate::from_der(leaf.as_ref()).ok()?;
    certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .ok()
}

/// The DNS names of a certificate's subject alternative names, lower case.
fn dns_names(leaf: &CertificateDer<'_>) -> Vec<String> {
    let Ok(certificate) = x509_cert::Certificate::from_der(leaf.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some((_, names))) = certificate.tbs_certificate.get::<SubjectAltName>() else {
        return Vec::new();
    };
    names
        .0
        .iter()
        .filter_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.as_str().to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Verifies client certificates against the authorities of the vault's `trust` store.
fn client_verifier(
    trust: &ClientTrust,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, FileProblem> {
    let store = store::read(&trust.store)?;
    let mut roots = RootCertStore::empty();
    for certificate in store.trusted(&trust.aliases, &trust.store)? {
        roots.add(certificate).map_err(|e| FileProblem::Store {
            path: trust.store.path.clone(),
            reason: format!("a trusted certificate is not usable: {e}"),
        })?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = if trust.required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder
        .build()
        .map_err(|e| FileProblem::Config(e.to_string()))
}

/// Chooses the certificate for a handshake: refuses a server name outside `sni` (when
/// set; a handshake without a server name is served), then serves the key whose
/// certificate names the client's server name, or the first.
#[derive(Debug)]
pub(super) struct Resolver {
    pub(super) served: Vec<Served>,
    pub(super) sni: Vec<String>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().map(str::to_ascii_lowercase);
        // A client that names another server is refused; one that names none (OpenSSL's
        // s_client for `localhost`, clients connecting by IP address) is served, as Zilla
        // serves it.
        if !self.sni.is_empty() && name.as_ref().is_some_and(|n| !self.sni.contains(n)) {
            return None;
        }
        let chosen = name
            .as_ref()
            .and_then(|n| self.served.iter().find(|s| s.names.contains(n)))
            .or_else(|| self.served.first())?;
        Some(chosen.key.clone())
    }
}
