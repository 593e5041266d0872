//! Key stores of a vault: PKCS#12 and JKS files, read into keys with their chains and
//! trusted certificates, by alias.

use p12_keystore::{KeyStore, KeyStoreEntry};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sluice_shared::table::{StoreFile, StoreFormat};

use super::error::FileProblem;
use super::jks;
use super::pem::read_file;

/// A private key with its certificate chain, leaf first.
pub(super) struct KeyEntry {
    pub alias: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// What a store holds.
#[derive(Default)]
pub(super) struct Store {
    pub keys: Vec<KeyEntry>,
    pub certificates: Vec<(String, CertificateDer<'static>)>,
}

impl Store {
    /// The key with `alias` (aliases compare without case, as `keytool` writes them).
    pub(super) fn key(&self, alias: &str, file: &StoreFile) -> Result<&KeyEntry, FileProblem> {
        self.keys
            .iter()
            .find(|k| k.alias.eq_ignore_ascii_case(alias))
            .ok_or_else(|| FileProblem::NoAlias {
                path: file.path.clone(),
                alias: alias.to_owned(),
                held: self.held(),
            })
    }

    /// The certificates with `aliases` (every certificate, keys' chains included, when
    /// `aliases` is empty).
    pub(super) fn trusted(
        &self,
        aliases: &[String],
        file: &StoreFile,
    ) -> Result<Vec<CertificateDer<'static>>, FileProblem> {
        let every = self
            .certificates
            .iter()
            .map(|(alias, c)| (alias.as_str(), c))
            .chain(
                self.keys
                    .iter()
                    .flat_map(|k| k.chain.last().map(|c| (k.alias.as_str(), c))),
            );
        let found: Vec<CertificateDer<'static>> = every
            .filter(|(alias, _)| {
                aliases.is_empty() || aliases.iter().any(|a| a.eq_ignore_ascii_case(alias))
            })
            .map(|(_, c)| c.clone())
            .collect();
        let missing: Vec<&String> = aliases
            .iter()
            .filter(|a| {
                !self
                    .certificates
                    .iter()
                    .any(|(alias, _)| alias.eq_ignore_ascii_case(a))
                    && !self.keys.iter().any(|k| k.alias.eq_ignore_ascii_case(a))
            })
            .collect();
        if found.is_empty() || !missing.is_empty() {
            let wanted = if missing.is_empty() {
                String::new()
            } else {
                format!(
                    " with alias {}",
                    missing
                        .iter()
                        .map(|a| format!("'{a}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(FileProblem::NoTrust {
                path: file.path.clone(),
                wanted,
                held: self.held(),
            });
        }
        Ok(found)
    }

    fn held(&self) -> String {
        let aliases: Vec<&str> = self
            .keys
            .iter()
            .map(|k| k.alias.as_str())
            .chain(self.certificates.iter().map(|(a, _)| a.as_str()))
            .collect();
        if aliases.is_empty() {
            "nothing".to_owned()
        } else {
            aliases.join(", ")
        }
    }
}

/// Reads and decrypts `file`.
pub(super) fn read(file: &StoreFile) -> Result<Store, FileProblem> {
    let bytes = read_file(&file.path)?;
    let refused = |reason: String| FileProblem::Store {
        path: file.path.clone(),
        reason,
    };
    match file.format {
        StoreFormat::Pkcs12 => {
            let store = KeyStore::from_pkcs12(&bytes, &file.password)
                .map_err(|e| refused(format!("not a PKCS#12 store, or a wrong password ({e})")))?;
            let mut out = Store::default();
            for (alias, entry) in store.entries() {
                match entry {
                    KeyStoreEntry::PrivateKeyChain(chain) => out.keys.push(KeyEntry {
                        alias: alias.clone(),
                        chain: chain
                            .chain()
                            .iter()
                            .map(|c| CertificateDer::from(c.as_der().to_vec()))
                            .collect(),
                        key: PrivatePkcs8KeyDer::from(chain.key().to_vec()).into(),
                    }),
                    KeyStoreEntry::Certificate(certificate) => out.certificates.push((
                        alias.clone(),
                        CertificateDer::from(certificate.as_der().to_vec()),
                    )),
                    KeyStoreEntry::Secret(_) => {}
                }
            }
            Ok(out)
        }
        StoreFormat::Jks => {
            let store = jks::read(&bytes, &file.password).map_err(|e| refused(e.to_string()))?;
            Ok(Store {
                keys: store
                    .keys
                    .into_iter()
                    .map(|(alias, key, chain)| KeyEntry {
                        alias,
                        chain: chain.into_iter().map(CertificateDer::from).collect(),
                        key: PrivatePkcs8KeyDer::from(key).into(),
                    })
                    .collect(),
                certificates: store
                    .certificates
                    .into_iter()
                    .map(|(alias, c)| (alias, CertificateDer::from(c)))
                    .collect(),
            })
        }
    }
}
