//! TLS for the tests: a certificate authority made at test time, server certificates it
//! signs, configurations with a `tls` binding, and clients that trust the authority.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;

/// A test certificate authority and the directory its files go to.
pub struct TestCa {
    certificate: rcgen::Certificate,
    key: KeyPair,
    dir: PathBuf,
}

/// A server certificate and key written as PEM files.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Path of the certificate file.
    pub certificate: String,
    /// Path of the key file.
    pub key: String,
    /// The certificate, DER, as a client sees it.
    pub der: Vec<u8>,
}

impl TestCa {
    /// A new authority; its files go to a fresh temporary directory.
    pub fn new() -> Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Sluice test CA");
        let key = KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        let dir = std::env::temp_dir().join(format!("sluice-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("ca.pem"), certificate.pem())?;
        Ok(Self {
            certificate,
            key,
            dir,
        })
    }

    /// The authority's certificate, PEM.
    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    /// Path of the authority's certificate file.
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    /// A certificate for `localhost` and 127.0.0.1, written to `<name>.pem` and
    /// `<name>-key.pem`.
    pub fn issue(&self, name: &str) -> Result<Issued> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &self.certificate, &self.key)?;
        let cert_path = self.dir.join(format!("{name}.pem"));
        let key_path = self.dir.join(format!("{name}-key.pem"));
        std::fs::write(&cert_path, certificate.pem())?;
        std::fs::write(&key_path, key.serialize_pem())?;
        Ok(Issued {
            certificate: cert_path.display().to_string(),
            key: key_path.display().to_string(),
            der: certificate.der().to_vec(),
        })
    }

    /// A path in the authority's directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A client configuration trusting only this authority, offering `alpn`.
    pub fn client_config(&self, alpn: &[&str]) -> Result<Arc<rustls::ClientConfig>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(self.certificate.der().to_vec()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// Connects to `addr` with TLS (server name `localhost`), offering `alpn`.
    pub async fn connect(&self, addr: SocketAddr, alpn: &[&str]) -> Result<TlsStream<TcpStream>> {
        let config = self.client_config(alpn)?;
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost")?;
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .context("tls handshake")
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The certificate the server presented on `stream`, DER.
pub fn peer_certificate(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.as_ref().to_vec())
}

/// The protocol ALPN chose on `stream`.
pub fn alpn(stream: &TlsStream<TcpStream>) -> Option<String> {
    let (_, connection) = stream.get_ref();
    connection
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

/// `config` (from [`crate::config`]) with TLS in front of its http server: the tcp
/// binding exits to a `tls` binding with `issued`'s files.
pub fn with_tls(config: &str, issued: &Issued) -> Result<String> {
    const PLAIN: &str =
        "    kind: server\n    options: { host: 127.0.0.1, port: 8080 }\n    exit: http\n";
    anyhow::ensure!(
        config.contains(PLAIN),
        "no tcp binding on port 8080 exiting to http"
    );
    let config = config.replacen(
        PLAIN,
        "    kind: server\n    options: { host: 127.0.0.1, port: 8080 }\n    exit: tls\n",
        1,
    );
    Ok(config.replacen(
        "bindings:\n",
        &format!(
            "bindings:\n  tls:\n    type: tls\n    kind: server\n    options: {{ certificate: \"{}\", key: \"{}\" }}\n    exit: http\n",
            issued.certificate, issued.key
        ),
        1,
    ))
}

/// Terminates TLS (the PEM `certificate` chain and `key`; client certificates signed by
/// the authority `ca_pem` required) and forwards the bytes to `target`: a TLS broker made
/// of a plain one. Counts handshakes that completed.
pub async fn tls_proxy(
    ca_pem: &str,
    certificate: &str,
    key: &str,
    listener: TcpListener,
    target: SocketAddr,
) -> Result<Arc<AtomicU64>> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    use rustls::server::WebPkiClientVerifier;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let chain = CertificateDer::pem_file_iter(certificate)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let handshakes = Arc::new(AtomicU64::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, counted) = (acceptor.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut upstream) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                }
            });
        }
    });
    Ok(handshakes)
}
