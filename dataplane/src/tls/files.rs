//! TLS from PEM files named on the command line rather than in a configuration: the admin
//! listener's certificate (with the authorities that sign its clients' certificates, for
//! mutual TLS), and the client a data plane uses to reach its control plane.
//!
//! The files are checked as a `tls` binding's are (a PEM chain, a key that belongs to its
//! leaf, a leaf valid now), and read again on [`FileAcceptor::reload`] (SIGHUP): handshakes
//! from then on use the new files, connections already open keep theirs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::config::{Resolver, Served, certified};
use super::error::FileProblem;
use super::pem::{read_chain, read_key};

/// A certificate or key file given on the command line that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {problem}")]
pub struct TlsFileError {
    flag: &'static str,
    problem: FileProblem,
}

fn at(flag: &'static str) -> impl Fn(FileProblem) -> TlsFileError {
    move |problem| TlsFileError { flag, problem }
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// A file given on the command line, with the flag that named it (for error messages).
pub type NamedFile = (PathBuf, &'static str);

/// The files of a TLS listener outside the configuration.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    /// PEM certificate chain, leaf first.
    pub certificate: NamedFile,
    /// PEM private key.
    pub key: NamedFile,
    /// PEM authorities: with it, every client must present a certificate they signed.
    pub client_ca: Option<NamedFile>,
}

/// A listener's TLS configuration read from [`ServerFiles`], swapped on reload.
pub struct FileAcceptor {
    files: ServerFiles,
    config: ArcSwap<ServerConfig>,
    /// When the certificate served expires, Unix seconds.
    not_after: AtomicU64,
}

impl FileAcceptor {
    /// Reads and checks the files.
    pub fn load(files: ServerFiles) -> Result<Self, TlsFileError> {
        let (config, not_after) = server_config(&files)?;
        Ok(Self {
            files,
            config: ArcSwap::new(config),
            not_after: AtomicU64::new(not_after),
        })
    }

    /// The configuration for the next handshake.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// When the certificate served expires, Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.not_after.load(Ordering::Relaxed)
    }

    /// Reads the files again; on a failure the certificate served stays.
    pub fn reload(&self) -> Result<(), TlsFileError> {
        let (config, not_after) = server_config(&self.files)?;
        self.config.store(config);
        self.not_after.store(not_after, Ordering::Relaxed);
        Ok(())
    }
}

/// A certificate chain and key from their files, checked as a served one is: the leaf is
/// valid now and the key belongs to it.
fn identity(
    (certificate, certificate_flag): &NamedFile,
    (key, key_flag): &NamedFile,
    provider: &Arc<CryptoProvider>,
) -> Result<(Identity, Served, u64), TlsFileError> {
    let chain = read_chain(&text(certificate)).map_err(at(certificate_flag))?;
    let key_der = read_key(&text(key)).map_err(at(key_flag))?;
    let (served, not_after) = certified(
        chain.clone(),
        key_der.clone_key(),
        (&text(certificate), &text(key)),
        provider,
    )
    .map_err(|problem| match problem {
        FileProblem::Invalid { .. } | FileProblem::NoCertificate { .. } => {
            at(certificate_flag)(problem)
        }
        _ => at(key_flag)(problem),
    })?;
    Ok(((chain, key_der), served, not_after))
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn server_config(files: &ServerFiles) -> Result<(Arc<ServerConfig>, u64), TlsFileError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key_flag = files.key.1;
    let (_, served, not_after) = identity(&files.certificate, &files.key, &provider)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| at(key_flag)(FileProblem::Config(e.to_string())))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some((ca, flag)) => {
            let roots = roots_from(ca).map_err(at(flag))?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| at(flag)(FileProblem::Config(e.to_string())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(Resolver {
        served: vec![served],
        sni: Vec::new(),
    }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), not_after))
}

/// Every certificate of a PEM file, as trusted authorities.
fn roots_from(path: &Path) -> Result<RootCertStore, FileProblem> {
    let mut roots = RootCertStore::empty();
    for certificate in read_chain(&text(path))? {
        roots.add(certificate).map_err(|e| FileProblem::Refused {
            path: text(path),
            reason: format!("holds a certificate that cannot be an authority: {e}"),
        })?;
    }
    Ok(roots)
}

/// The files of a TLS client outside the configuration.
#[derive(Debug, Clone, Default)]
pub struct ClientFiles {
    /// PEM authorities the server's certificate must chain to; the system's when absent.
    pub ca: Option<NamedFile>,
    /// The client's certificate chain and key, for mutual TLS.
    pub identity: Option<(NamedFile, NamedFile)>,
}

/// A client configuration from [`ClientFiles`]: TLS 1.2 and 1.3, no ALPN.
pub fn file_client_config(files: &ClientFiles) -> Result<ClientConfig, TlsFileError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &files.ca {
        Some((ca, flag)) => roots_from(ca).map_err(at(flag))?,
        None => {
            let mut roots = RootCertStore::empty();
            for certificate in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(certificate);
            }
            roots
        }
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| at("--control-plane")(FileProblem::Config(e.to_string())))?
        .with_root_certificates(roots);
    let config = match &files.identity {
        None => builder.with_no_client_auth(),
        Some((certificate, key)) => {
            let ((chain, key_der), _, _) = identity(certificate, key, &provider)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| at(key.1)(FileProblem::Config(e.to_string())))?
        }
    };
    // ALPN is the connector's to set (hyper-rustls refuses a configuration that has it).
    Ok(config)
}
