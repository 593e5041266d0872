//! TLS termination for `tls` server bindings.
//!
//! The certificate chain and key come from PEM files named in the configuration. They are
//! read and checked on every apply (so a bad file fails the apply, and nothing changes) and
//! again on [`DataPlane::reload_certificates`](crate::DataPlane::reload_certificates) (SIGHUP).
//! A reload swaps the listener's `rustls` configuration: handshakes from then on present the
//! new certificate, connections already open keep theirs.
//!
//! TLS 1.2 and 1.3 only, `ring` as the crypto provider, ALPN as configured (`h2`,
//! `http/1.1`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sluice_shared::RouteTable;
use sluice_shared::table::TlsListener;
use tracing::{info, warn};
use x509_cert::der::Decode;

/// Certificates expiring sooner than this are logged as a warning when loaded.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// The TLS settings of one listener and its current `rustls` configuration.
pub(crate) struct Acceptor {
    settings: TlsListener,
    config: ArcSwap<ServerConfig>,
    /// When the certificate served expires, Unix seconds.
    not_after: std::sync::atomic::AtomicU64,
}

impl Acceptor {
    /// The configuration for the next handshake.
    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }
}

/// The TLS listeners of one configuration, by configured port.
#[derive(Default)]
pub(crate) struct Acceptors {
    by_port: HashMap<u16, Arc<Acceptor>>,
}

impl Acceptors {
    /// Reads and checks the certificates of every TLS listener of `table`.
    pub(crate) fn load(table: &RouteTable) -> Result<Self, TlsError> {
        let mut by_port = HashMap::new();
        let mut loaded: Vec<(&TlsListener, Loaded)> = Vec::new();
        for listener in &table.listeners {
            let Some(settings) = &listener.tls else {
                continue;
            };
            // Several ports may share one tls binding: read its files once.
            let (config, not_after) = match loaded.iter().find(|(s, _)| *s == settings) {
                Some((_, loaded)) => loaded.clone(),
                None => {
                    let fresh = server_config(settings)?;
                    loaded.push((settings, fresh.clone()));
                    fresh
                }
            };
            by_port.insert(
                listener.port,
                Arc::new(Acceptor {
                    settings: settings.clone(),
                    config: ArcSwap::new(config),
                    not_after: std::sync::atomic::AtomicU64::new(not_after),
                }),
            );
        }
        Ok(Self { by_port })
    }

    /// The acceptor of the listener configured on `port`, if it terminates TLS.
    pub(crate) fn get(&self, port: u16) -> Option<&Arc<Acceptor>> {
        self.by_port.get(&port)
    }

    /// Reads every listener's files again and swaps in the ones that load. Returns how
    /// many listeners were reloaded, or every failure (those keep their certificate).
    pub(crate) fn reload(&self) -> Result<usize, TlsErrors> {
        let mut failures = Vec::new();
        let mut reloaded = 0;
        for (port, acceptor) in &self.by_port {
            match server_config(&acceptor.settings) {
                Ok((config, not_after)) => {
                    acceptor.config.store(config);
                    acceptor
                        .not_after
                        .store(not_after, std::sync::atomic::Ordering::Relaxed);
                    reloaded += 1;
                    info!(port, binding = %acceptor.settings.binding, "tls certificate reloaded");
                }
                Err(error) => failures.push(error),
            }
        }
        if failures.is_empty() {
            Ok(reloaded)
        } else {
            failures.sort_by_key(ToString::to_string);
            failures.dedup();
            Err(TlsErrors(failures))
        }
    }

    /// Each `tls` binding with the expiry of the certificate it serves (Unix seconds).
    pub(crate) fn expiries(&self) -> Vec<(&str, u64)> {
        let mut list: Vec<(&str, u64)> = self
            .by_port
            .values()
            .map(|a| {
                (
                    a.settings.binding.as_str(),
                    a.not_after.load(std::sync::atomic::Ordering::Relaxed),
                )
            })
            .collect();
        list.sort_unstable();
        list.dedup_by(|a, b| a.0 == b.0);
        list
    }
}

/// A `rustls` configuration and its certificate's expiry (Unix seconds).
type Loaded = (Arc<ServerConfig>, u64);

/// Builds the `rustls` configuration of one `tls` binding from its files.
pub(crate) fn server_config(settings: &TlsListener) -> Result<Loaded, TlsError> {
    let at = |field: &'static str| {
        move |problem: FileProblem| TlsError {
            binding: settings.binding.clone(),
            field,
            problem,
        }
    };
    let chain = read_chain(&settings.certificate).map_err(at("certificate"))?;
    let key = read_key(&settings.key).map_err(at("key"))?;
    let not_after = check_validity(&chain[0], SystemTime::now()).map_err(|reason| {
        at("certificate")(FileProblem::Invalid {
            path: settings.certificate.clone(),
            reason,
        })
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Checks that the key is one rustls can sign with and that it belongs to the leaf.
    CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider).map_err(|error| {
        at("key")(match error {
            rustls::Error::InconsistentKeys(_) => FileProblem::KeyMismatch {
                key: settings.key.clone(),
                certificate: settings.certificate.clone(),
            },
            other => FileProblem::Refused {
                path: settings.key.clone(),
                reason: other.to_string(),
            },
        })
    })?;
    let refused = |error: rustls::Error| FileProblem::Config(error.to_string());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| at("certificate")(refused(e)))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| at("certificate")(refused(e)))?;
    config.alpn_protocols = settings
        .alpn
        .iter()
        .map(|protocol| protocol.as_bytes().to_vec())
        .collect();
    let not_after = not_after
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok((Arc::new(config), not_after))
}

fn read_file(path: &str) -> Result<Vec<u8>, FileProblem> {
    std::fs::read(path).map_err(|e| FileProblem::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn read_chain(path: &str) -> Result<Vec<CertificateDer<'static>>, FileProblem> {
    let bytes = read_file(path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FileProblem::NotCertificate {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(FileProblem::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, FileProblem> {
    let bytes = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => FileProblem::NoKey {
            path: path.to_owned(),
        },
        other => FileProblem::NotKey {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    })
}

/// Why a tls binding's certificate or key cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tls binding '{binding}' (/bindings/{binding}/options/{field}): {problem}")]
pub struct TlsError {
    binding: String,
    field: &'static str,
    problem: FileProblem,
}

/// Every listener whose files did not load on a reload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct TlsErrors(Vec<TlsError>);

/// What is wrong with a certificate or key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum FileProblem {
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
}

/// Why a certificate is not valid now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Validity {
    #[error("holds a certificate that cannot be parsed: {0}")]
    Unparsable(String),
    #[error("holds a certificate that expired on {0}")]
    Expired(String),
    #[error("holds a certificate that is not valid before {0}")]
    NotYetValid(String),
}

/// Refuses a certificate that is not valid at `now`; warns when it expires soon. Returns
/// when it expires.
fn check_validity(leaf: &CertificateDer<'_>, now: SystemTime) -> Result<SystemTime, Validity> {
    let certificate = x509_cert::Certificate::from_der(leaf.as_ref())
        .map_err(|e| Validity::Unparsable(e.to_string()))?;
    let validity = &certificate.tbs_certificate.validity;
    let not_before = SystemTime::UNIX_EPOCH + validity.not_before.to_date_time().unix_duration();
    let not_after = SystemTime::UNIX_EPOCH + validity.not_after.to_date_time().unix_duration();
    if now > not_after {
        return Err(Validity::Expired(httpdate::fmt_http_date(not_after)));
    }
    if now < not_before {
        return Err(Validity::NotYetValid(httpdate::fmt_http_date(not_before)));
    }
    if not_after
        .duration_since(now)
        .is_ok_and(|left| left < EXPIRY_WARNING)
    {
        warn!(
            expires = %httpdate::fmt_http_date(not_after),
            "tls certificate expires in less than 14 days"
        );
    }
    Ok(not_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: std::path::PathBuf,
    }

    impl Files {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("sluice-tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap_or_default();
            Self { dir }
        }

        fn write(&self, name: &str, text: &str) -> String {
            let path = self.dir.join(name);
            std::fs::write(&path, text).unwrap_or_default();
            path.display().to_string()
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn settings(certificate: String, key: String) -> TlsListener {
        TlsListener {
            binding: "tls".to_owned(),
            certificate,
            key,
            alpn: vec!["h2".to_owned(), "http/1.1".to_owned()],
        }
    }

    fn generate(
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> Result<(String, String), rcgen::Error> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        Ok((certificate.pem(), key.serialize_pem()))
    }

    #[test]
    fn a_valid_pair_loads_with_alpn() -> Result<(), Box<dyn std::error::Error>> {
        let files = Files::new("valid");
        let (certificate, key) = generate((2020, 1, 1), (2999, 1, 1))?;
        let (config, _) = server_config(&settings(
            files.write("cert.pem", &certificate),
            files.write("key.pem", &key),
        ))?;
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        Ok(())
    }

    #[test]
    fn every_bad_file_is_named_with_its_problem() -> Result<(), Box<dyn std::error::Error>> {
        let files = Files::new("bad");
        let (certificate, key) = generate((2020, 1, 1), (2999, 1, 1))?;
        let (_, other_key) = generate((2020, 1, 1), (2999, 1, 1))?;
        let (expired, expired_key) = generate((2020, 1, 1), (2021, 1, 1))?;
        let (future, future_key) = generate((2998, 1, 1), (2999, 1, 1))?;
        let cert = files.write("cert.pem", &certificate);
        let key = files.write("key.pem", &key);
        let cases = [
            (
                settings(
                    files.dir.join("missing.pem").display().to_string(),
                    key.clone(),
                ),
                "options/certificate): cannot read",
            ),
            (
                settings(cert.clone(), files.write("empty.pem", "")),
                "holds no unencrypted private key",
            ),
            (
                settings(files.write("text.pem", "hello\n"), key.clone()),
                "holds no CERTIFICATE block",
            ),
            (
                settings(cert.clone(), files.write("other.pem", &other_key)),
                "does not belong to the certificate",
            ),
            (
                settings(
                    files.write("expired.pem", &expired),
                    files.write("expired-key.pem", &expired_key),
                ),
                "expired on Fri, 01 Jan 2021",
            ),
            (
                settings(
                    files.write("future.pem", &future),
                    files.write("future-key.pem", &future_key),
                ),
                "not valid before",
            ),
            (
                // The key file named as the certificate, and the other way round.
                settings(key.clone(), cert.clone()),
                "holds no CERTIFICATE block",
            ),
        ];
        for (settings, expected) in cases {
            let error = server_config(&settings)
                .err()
                .ok_or_else(|| format!("{settings:?} loaded"))?
                .to_string();
            assert!(
                error.contains(expected)
                    && error.starts_with("tls binding 'tls' (/bindings/tls/options/"),
                "{error:?} does not say {expected:?}"
            );
        }
        Ok(())
    }
}
